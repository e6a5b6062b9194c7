import { describe, expect, it } from "vitest";
import { BlockErrorCode, TxErrorCode } from "../../../src/consensus/errors.js";
import {
  NetworkErrorCode,
  PENALTIES,
  penaltyFor,
  UNKNOWN_REJECT_PENALTY,
} from "../../../src/network/index.js";
import { CodecErrorCode } from "../../../src/primitives/index.js";

describe("PENALTIES", () => {
  const all = [
    ...Object.values(BlockErrorCode),
    ...Object.values(TxErrorCode),
    ...Object.values(CodecErrorCode),
    ...Object.values(NetworkErrorCode),
  ];

  it.each(all)("covers %s with a finite, non-negative penalty", (code) => {
    expect(Object.hasOwn(PENALTIES, code)).toBe(true);
    expect(penaltyFor(code)).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(penaltyFor(code))).toBe(true);
  });

  it("has no entry for an unknown code", () => {
    expect(Object.keys(PENALTIES).sort()).toEqual([...all].sort());
  });

  it("unknown codes: reject costs UNKNOWN_REJECT_PENALTY, ignore costs nothing", () => {
    expect(penaltyFor("MEMPOOL_FULL", "ignore")).toBe(0);
    expect(penaltyFor("SOME_REJECT", "reject")).toBe(UNKNOWN_REJECT_PENALTY);
  });

  it("no-work blocks and forged batches ban at once", () => {
    expect(PENALTIES[BlockErrorCode.HIGH_HASH]).toBe(100);
    expect(PENALTIES[NetworkErrorCode.BAD_BATCH_SIGNATURE]).toBe(100);
  });
});

describe("resolveNetworkHostOptions", () => {
  it("fills defaults, keeps defaults for undefined fields, refuses minPeers > maxPeers", async () => {
    const { resolveNetworkHostOptions, DEFAULT_PEER_MANAGER_OPTIONS } = await import(
      "../../../src/network/index.js"
    );
    const opts = resolveNetworkHostOptions({ network: "regtest", listen: undefined, peers: { minPeers: 2 } });
    expect(opts.listen).toEqual(["/ip4/0.0.0.0/tcp/7333"]);
    expect(opts.peers).toEqual({ ...DEFAULT_PEER_MANAGER_OPTIONS, minPeers: 2 });
    expect(() =>
      resolveNetworkHostOptions({ network: "regtest", peers: { minPeers: 9, maxPeers: 3 } }),
    ).toThrow(RangeError);
  });
});
