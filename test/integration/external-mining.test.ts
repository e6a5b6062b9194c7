import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { compactToTarget, hashToBigInt } from "../../src/consensus/pow.js";
import { DEFAULT_MEMPOOL_WAKE_MS } from "../../src/node/block-templates.js";
import type { QuarryNode } from "../../src/node.js";
import { toHex } from "../../src/primitives/bytes.js";
import { decodeHeader, encodeHeader, HEADER_SIZE, headerHash } from "../../src/primitives/header.js";
import { encodeTransaction, TxType, transactionId } from "../../src/primitives/transaction.js";
import { mineHeader, testAddress, testKey, transfer } from "../helpers/chain-builder.js";
import { addressOf, Cluster, waitForSameTip } from "../helpers/multinode-cluster.js";
import { callRpc, rpcOk } from "../helpers/node-rpc.js";
import { runQuarry } from "../helpers/process-node.js";
import { waitFor } from "../helpers/wait.js";

interface Template {
  templateId: string;
  longpollid: string;
  height: number;
  previousBlockHash: string;
  bits: string;
  target: string;
  header: string;
  block: string;
  time: number;
  minTime: number;
  maxTime: number;
  coinbase: { recipient: string; amount: string; subsidy: string; fees: string };
  transactions: { id: string; fee: string }[];
}

const MINER = 5;
const address = testAddress(MINER);

/** The template's block with its header solved (optionally changed first), as submitBlock takes it. */
function solve(t: Template, change: (h: ReturnType<typeof decodeHeader>) => void = () => undefined): string {
  const header = decodeHeader(Buffer.from(t.header, "hex"));
  change(header);
  return toHex(encodeHeader(mineHeader(header))) + t.block.slice(HEADER_SIZE * 2);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * External mining over JSON-RPC on real nodes (createNode, 127.0.0.1): node A serves templates and
 * takes solved blocks, node B is its peer; neither mines itself.
 */
describe("getBlockTemplate and submitBlock", () => {
  const cluster = new Cluster();
  let a: QuarryNode;
  let b: QuarryNode;

  beforeAll(async () => {
    a = await cluster.add();
    b = await cluster.add({ bootstrap: [addressOf(a)] });
    await waitFor(() => a.host.connectedPeers().length > 0, 10_000, "A and B connected");
  }, 30_000);

  afterAll(() => cluster.stopAll());

  it("getBlockTemplate needs the token; bad address or maxWait is -32602 naming the field", async () => {
    const denied = await callRpc(a, "getBlockTemplate", [address], { token: false });
    expect(denied.error?.code).toBe(-32001);
    expect((await callRpc(a, "getBlockTemplate", ["qrt1nope"])).error).toMatchObject({
      code: -32602,
      data: { param: "address" },
    });
    expect((await callRpc(a, "getBlockTemplate", [])).error?.code).toBe(-32602);
    expect((await callRpc(a, "getBlockTemplate", [address, "x", 0])).error?.message).toContain("'maxWait'");
    expect((await callRpc(a, "getBlockTemplate", [address, 5])).error).toMatchObject({
      code: -32602,
      data: { param: "longpollid" },
    });
  });

  it("a template's block, solved outside the node, is accepted and relayed to the peer", async () => {
    const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
    expect(t).toMatchObject({
      height: a.chain.height + 1,
      previousBlockHash: a.chain.tip.hashHex,
      coinbase: { recipient: address, amount: REGTEST.initialSubsidy.toString() },
    });
    expect(t.block.startsWith(t.header)).toBe(true);
    expect(BigInt(`0x${t.target}`)).toBe(compactToTarget(Number(t.bits)).target);
    const submitted = await rpcOk<{ result: string; hash: string; height: number }>(a, "submitBlock", [
      solve(t),
    ]);
    expect(submitted).toMatchObject({ result: "accepted", height: t.height });
    expect(a.chain.tip.hashHex).toBe(submitted.hash);
    await waitForSameTip([a, b], 15_000, "B has the externally mined block");
  });

  it("submitBlock refusals cost only the check: garbage -32602, undecodable/duplicate/stale/high-hash/bad-state -32002 with the code", async () => {
    const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
    const height = a.chain.height;
    const code = async (hex: unknown) => (await callRpc(a, "submitBlock", [hex])).error;
    expect(await code("zz")).toMatchObject({ code: -32602, data: { param: "hex" } });
    expect(await code("")).toMatchObject({ code: -32602 });
    expect(await code("00")).toMatchObject({ code: -32002, data: { code: "CODEC_TRUNCATED" } });
    // The header is changed, so its hash no longer meets the target: first nonce that fails.
    const header = decodeHeader(Buffer.from(t.header, "hex"));
    const target = compactToTarget(header.bits).target;
    while (hashToBigInt(headerHash(header)) <= target) header.nonce++;
    expect(await code(toHex(encodeHeader(header)) + t.block.slice(HEADER_SIZE * 2))).toMatchObject({
      code: -32002,
      data: { code: "BLOCK_HIGH_HASH" },
    });
    const badState = solve(t, (h) => {
      h.stateRoot = new Uint8Array(32).fill(9);
    });
    expect(await code(badState)).toMatchObject({ code: -32002, data: { code: "BLOCK_BAD_STATE_ROOT" } });
    expect(a.chain.height).toBe(height);
    // A good block still goes in; the same block again, or one on the old tip, is refused.
    const good = solve(t);
    expect((await rpcOk<{ result: string }>(a, "submitBlock", [good])).result).toBe("accepted");
    expect(await code(good)).toMatchObject({ code: -32002, data: { code: "SUBMIT_DUPLICATE" } });
    const stale = solve(t, (h) => {
      h.time += 1;
    });
    expect(await code(stale)).toMatchObject({ code: -32002, data: { code: "SUBMIT_STALE_TEMPLATE" } });
    expect(a.chain.height).toBe(height + 1);
    expect((await callRpc(a, "submitBlock", [good], { token: false })).error?.code).toBe(-32001);
  });

  it("submitBlock with a solved header alone: the node takes its template's transactions; an unknown header is SUBMIT_UNKNOWN_TEMPLATE", async () => {
    const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
    const foreign = decodeHeader(Buffer.from(t.header, "hex"));
    foreign.merkleRoot = new Uint8Array(32).fill(3);
    expect((await callRpc(a, "submitBlock", [toHex(encodeHeader(mineHeader(foreign)))])).error).toMatchObject(
      {
        code: -32002,
        data: { code: "SUBMIT_UNKNOWN_TEMPLATE" },
      },
    );
    // The miner may move the time forward: still the same template.
    const headerHex = solve(t, (h) => {
      h.time += 1;
    }).slice(0, HEADER_SIZE * 2);
    const submitted = await rpcOk<{ result: string; hash: string }>(a, "submitBlock", [headerHex]);
    expect(submitted.result).toBe("accepted");
    expect(toHex(encodeHeader(a.chain.tip.header))).toBe(headerHex);
    expect((await a.chain.getBlockBytes(submitted.hash))!.length).toBe(t.block.length / 2);
  });

  it("long poll: answers when the tip moves (measured), after a mempool change once it waited 5 s, and after maxWait otherwise", async () => {
    const samplesMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
      let connectedAt = 0;
      const onConnected = () => {
        connectedAt = performance.now();
      };
      a.chain.once("blockConnected", onConnected);
      const poll = rpcOk<Template>(a, "getBlockTemplate", [address, t.longpollid, 30]).then((next) => ({
        next,
        at: performance.now(),
      }));
      await rpcOk(a, "submitBlock", [solve(t)]);
      const { next, at } = await poll;
      expect(next.height).toBe(t.height + 1);
      expect(next.longpollid).not.toBe(t.longpollid);
      samplesMs.push(at - connectedAt);
    }
    samplesMs.sort((x, y) => x - y);
    console.log(
      `getBlockTemplate long poll, new tip -> template returned: p50 ${percentile(samplesMs, 0.5).toFixed(1)} ms, max ${samplesMs.at(-1)!.toFixed(1)} ms (${samplesMs.length} samples)`,
    );
    expect(samplesMs.at(-1)!).toBeLessThan(5_000);

    // A new transfer wakes the poll once it has waited DEFAULT_MEMPOOL_WAKE_MS; the next template carries it.
    const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
    const pollStarted = performance.now();
    const poll = rpcOk<Template>(a, "getBlockTemplate", [address, t.longpollid, 30]).then((next) => ({
      next,
      waitedMs: performance.now() - pollStarted,
    }));
    const tx = transfer(testKey(MINER), testKey(6).address, 1000n, 0n, 500n);
    await rpcOk(a, "sendRawTransaction", [toHex(encodeTransaction(tx))]);
    const { next: withTx, waitedMs } = await poll;
    expect(waitedMs).toBeGreaterThanOrEqual(DEFAULT_MEMPOOL_WAKE_MS - 50);
    expect(waitedMs).toBeLessThan(DEFAULT_MEMPOOL_WAKE_MS + 5_000);
    expect(withTx.height).toBe(t.height);
    expect(withTx.transactions.map((x) => x.id)).toEqual([toHex(transactionId(tx))]);
    expect(withTx.coinbase.fees).toBe("500");

    // Nothing changes: the poll answers after maxWait with the same long-poll id.
    const started = performance.now();
    const idle = await rpcOk<Template>(a, "getBlockTemplate", [address, withTx.longpollid, 1]);
    expect(idle.longpollid).toBe(withTx.longpollid);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  }, 60_000);

  it("quarry miner (a separate process, RPC only, 2 worker threads, header-only submits) mines blocks the node accepts and relays", async () => {
    const before = a.chain.height;
    const recipient = testAddress(7);
    const result = await runQuarry(
      [
        "miner",
        "--rpc",
        a.api.url,
        "--datadir",
        a.options.datadir,
        "--address",
        recipient,
        "--threads",
        "2",
        "--blocks",
        "3",
        "--longpoll",
        "5",
      ],
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event: string; height: number; hash: string });
    const accepted = events.filter((e) => e.event === "accepted");
    expect(accepted).toHaveLength(3);
    for (const e of accepted) expect(a.chain.entryAtHeight(e.height)?.hashHex).toBe(e.hash);
    expect(a.chain.height).toBeGreaterThanOrEqual(before + 3);
    // Paid by the three coinbases (subsidy plus the fees of what the templates included).
    let paid = 0n;
    for (const e of accepted) {
      const coinbase = (await a.chain.getBlock(e.hash))!.txs[0]!;
      expect(coinbase.type).toBe(TxType.Coinbase);
      if (coinbase.type === TxType.Coinbase) paid += coinbase.amount;
    }
    expect(paid).toBeGreaterThanOrEqual(3n * REGTEST.initialSubsidy);
    const account = await rpcOk<{ balance: string }>(a, "getAccount", [recipient]);
    expect(BigInt(account.balance)).toBe(paid);
    await waitForSameTip([a, b], 15_000, "B has the external miner's blocks");
  }, 90_000);

  it("long poll answers when the tip moves back (invalidateBlock: a disconnect, no new block)", async () => {
    const t = await rpcOk<Template>(a, "getBlockTemplate", [address]);
    const poll = rpcOk<Template>(a, "getBlockTemplate", [address, t.longpollid, 30]);
    const tip = a.chain.tip.hashHex;
    await rpcOk(a, "invalidateBlock", [tip]);
    const back = await poll;
    expect(back.height).toBe(t.height - 1);
    expect(back.previousBlockHash).not.toBe(tip);
    await rpcOk(a, "reconsiderBlock", [tip]);
    expect(a.chain.tip.hashHex).toBe(tip);
  });
});
