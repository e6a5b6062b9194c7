import { beforeAll, describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../../src/consensus/errors.js";
import { checkHeaderRun, type HeaderChainTip } from "../../../src/consensus/header-chain.js";
import { REGTEST } from "../../../src/consensus/params.js";
import { workFromBits } from "../../../src/consensus/pow.js";
import { type BlockHeader, blockHash, toHex } from "../../../src/primitives/index.js";
import { withoutWork } from "../../helpers/adversary-peer.js";
import { ChainBuilder, mineHeader } from "../../helpers/chain-builder.js";

const params = REGTEST;
let headers: BlockHeader[];
const NOW = 2_000_000_000;

/** The builder chain's block at `height` as the start of a header chain (what Chain.headerChainTip gives). */
function tipAt(height: number): HeaderChainTip {
  const times = headers.slice(Math.max(0, height - params.medianTimeSpan + 1), height + 1).map((h) => h.time);
  return {
    hash: blockHash({ header: headers[height]!, txs: [] }),
    height,
    time: headers[height]!.time,
    chainWork: headers.slice(0, height + 1).reduce((w, h) => w + workFromBits(h.bits), 0n),
    block1Time: height >= 1 ? headers[1]!.time : 0,
    recentTimes: times,
  };
}

describe("checkHeaderRun: the header rules over a chain of headers, no bodies", () => {
  beforeAll(async () => {
    const builder = ChainBuilder.create(params);
    await builder.mineMany(30);
    headers = builder.blocks.map((b) => b.header);
  });

  it("a valid run from genesis passes whole: ids in order, tip height, time and summed work", () => {
    const run = checkHeaderRun(headers.slice(1), tipAt(0), NOW, params);
    expect(run.failure).toBeUndefined();
    expect(run.hashes.map(toHex)).toEqual(
      headers.slice(1).map((h) => toHex(blockHash({ header: h, txs: [] }))),
    );
    expect(run.tip).toEqual(tipAt(30));
  });

  it("two runs chained through the returned tip give the same tip as one run (state carried: MTP window, ASERT anchor)", () => {
    const first = checkHeaderRun(headers.slice(1, 13), tipAt(0), NOW, params);
    const second = checkHeaderRun(headers.slice(13), first.tip, NOW, params);
    expect(second.failure).toBeUndefined();
    expect(second.tip).toEqual(tipAt(30));
  });

  it.each<[string, (h: BlockHeader, prev: BlockHeader) => BlockHeader, BlockErrorCode]>([
    ["BLOCK_HIGH_HASH: proof of work misses the target", (h) => withoutWork(h), BlockErrorCode.HIGH_HASH],
    [
      "BLOCK_BAD_DIFFICULTY: bits other than ASERT's",
      (h) => mineHeader({ ...h, bits: 0x207ffffe }),
      BlockErrorCode.BAD_DIFFICULTY,
    ],
    [
      "BLOCK_BAD_PREV: does not link to the header before",
      (h) => mineHeader({ ...h, prevHash: new Uint8Array(32).fill(9) }),
      BlockErrorCode.BAD_PREV,
    ],
    [
      "BLOCK_TIME_TOO_OLD: time not after the median of the previous 11",
      (h, prev) => mineHeader({ ...h, time: prev.time - 6 }),
      BlockErrorCode.TIME_TOO_OLD,
    ],
    ["BLOCK_BAD_VERSION", (h) => mineHeader({ ...h, version: 2 }), BlockErrorCode.BAD_VERSION],
  ])("%s: stops at that header and returns the prefix that passed", (_, spoil, code) => {
    const run = headers.slice(1);
    run[19] = spoil(run[19]!, run[18]!);
    const checked = checkHeaderRun(run, tipAt(0), NOW, params);
    expect(checked.failure?.index).toBe(19);
    expect(checked.failure?.error.type.code).toBe(code);
    expect(checked.failure?.error.action).toBe("reject");
    expect(checked.hashes).toHaveLength(19);
    expect(checked.tip).toEqual(tipAt(19));
  });

  it("BLOCK_TIME_TOO_NEW past the future limit is action ignore (our clock may lag), with the prefix kept", () => {
    const now = headers[10]!.time - params.maxFutureBlockTimeSeconds;
    const checked = checkHeaderRun(headers.slice(1), tipAt(0), now, params);
    expect(checked.failure?.error.type.code).toBe(BlockErrorCode.TIME_TOO_NEW);
    expect(checked.failure?.error.action).toBe("ignore");
    expect(checked.tip).toEqual(tipAt(10));
  });

  it("an empty run returns the start unchanged", () => {
    expect(checkHeaderRun([], tipAt(5), NOW, params)).toEqual({ hashes: [], tip: tipAt(5) });
  });
});
