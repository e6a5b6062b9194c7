import { afterEach, describe, expect, it } from "vitest";
import { blockSubsidy, REGTEST } from "../../src/consensus/params.js";
import { SyncErrorCode } from "../../src/sync/errors.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { connect, type TestLibp2p } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer, type Misbehaviour } from "../helpers/sync-malicious.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = 20_000;

function until(node: SyncTestNode, predicate: () => boolean, what: string) {
  return waitFor(predicate, TIMEOUT, what, {
    wakeOn: (check) => {
      node.chain.on("blockConnected", check);
      node.sync.on("syncComplete", check);
      node.sync.on("batchRejected", check);
      return () => {
        node.chain.off("blockConnected", check);
        node.sync.off("syncComplete", check);
        node.sync.off("batchRejected", check);
      };
    },
  });
}

describe("sync faults", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it("SYNC_TIMEOUT: a peer whose handler hangs mid-sync is replaced without stalling, and not charged", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(300);
    const blocks = builder.blocks.slice(1);
    const servers = await Promise.all([0, 1, 2].map(() => createSyncNode(blocks)));
    cleanups.push(...servers.map((s) => s.destroy));
    const staller = servers[2]!;
    // The staller answers status and locator, then never answers a batch.
    const hang = (): Promise<void> => new Promise<void>(() => undefined);
    await staller.libp2p.handle(staller.sync.protocols.blocksByRange, hang, { force: true });
    await staller.libp2p.handle(staller.sync.protocols.blocksByHash, hang, { force: true });
    const fresh = await createSyncNode([], { maxBlocksPerBatch: 16, requestTimeoutMs: 1000 });
    cleanups.push(fresh.destroy);
    for (const server of servers) await connect(fresh.libp2p, server.libp2p);
    await until(fresh, () => fresh.chain.tip.hashHex === servers[0]!.chain.tip.hashHex, "synced tip");
    expect(fresh.chain.height).toBe(300);
    const timeouts = fresh.scorer.reports.filter((p) => p.code === SyncErrorCode.TIMEOUT);
    expect(timeouts.length).toBeGreaterThan(0);
    expect(new Set(timeouts.map((p) => p.peerId))).toEqual(new Set([staller.id]));
    // A slow or overloaded honest peer times out too: reported, never charged.
    expect(timeouts.every((p) => p.points === 0)).toBe(true);
  });

  it("a peer on a competing branch with more work makes the node reorganise", async () => {
    const main = ChainBuilder.create();
    await main.mineMany(100);
    const ours = main.fork(100);
    await ours.mineMany(20);
    const theirs = main.fork(100);
    await theirs.mineMany(60, { miner: new Uint8Array(20).fill(0xbb) });
    const node = await createSyncNode(ours.blocks.slice(1));
    const peer = await createSyncNode(theirs.blocks.slice(1));
    cleanups.push(node.destroy, peer.destroy);
    const reorgs: number[] = [];
    node.chain.on("reorg", (e) => reorgs.push(e.depth));
    await connect(node.libp2p, peer.libp2p);
    await until(
      node,
      () => node.chain.tip.hashHex === peer.chain.tip.hashHex,
      "reorg onto the peer's branch",
    );
    expect(node.chain.height).toBe(160);
    expect(reorgs).toEqual([20]);
    // And the peer, which has more work, did not move.
    expect(peer.chain.height).toBe(160);
  });

  it.each<[Misbehaviour, SyncErrorCode]>([
    ["forged-signature", SyncErrorCode.BAD_BATCH_SIGNATURE],
    ["invalid-blocks", SyncErrorCode.INVALID_BATCH],
  ])("%s: the peer is penalised with %s, logged, and the honest tip is unchanged", async (how, code) => {
    const builder = ChainBuilder.create();
    await builder.mineMany(10);
    const bad = builder.fork(10);
    if (how === "invalid-blocks") {
      // Block 11 pays its miner twice the subsidy: valid PoW, provably invalid (BLOCK_BAD_COINBASE_AMOUNT).
      await bad.mine({ coinbaseAmount: blockSubsidy(11, REGTEST) * 2n, mutate: () => undefined });
    }
    await bad.mineMany(how === "invalid-blocks" ? 5 : 6, { mutate: () => undefined });
    const node = await createSyncNode(builder.blocks.slice(1));
    const evil: TestLibp2p = await createMaliciousPeer(REGTEST, bad.blocks.slice(1), how);
    cleanups.push(node.destroy, async () => {
      await evil.libp2p.stop();
    });
    const tipBefore = node.chain.tip.hashHex;
    const evilId = evil.libp2p.peerId.toString();
    await connect(node.libp2p, evil.libp2p);
    await until(node, () => node.scorer.penalties.some((p) => p.code === code), code);
    await until(node, () => !node.sync.progress().syncing, "sync round ends");
    expect(node.chain.tip.hashHex).toBe(tipBefore);
    expect(node.chain.height).toBe(10);
    expect(node.scorer.penalties.every((p) => p.peerId === evilId)).toBe(true);
    const entry = node.securityLog.entries.find((e) => e.code === code);
    expect(entry).toMatchObject({ peerId: evilId, kind: "batch" });
    if (how === "invalid-blocks") {
      expect(entry?.detail?.blockCode).toMatch(/^BLOCK_/);
      expect(typeof entry?.detail?.batch).toBe("string");
    }
  });
});
