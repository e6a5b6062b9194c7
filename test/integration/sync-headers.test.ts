import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../src/consensus/errors.js";
import { REGTEST } from "../../src/consensus/params.js";
import type { QuarryNode } from "../../src/node.js";
import { type Block, blockEnvelope } from "../../src/primitives/block.js";
import { blockHash, toHex } from "../../src/primitives/index.js";
import { SyncErrorCode } from "../../src/sync/errors.js";
import type { SyncProgress } from "../../src/sync/events.js";
import { syncProtocolIds } from "../../src/sync/protocols/ids.js";
import { withoutWork } from "../helpers/adversary-peer.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster } from "../helpers/multinode-cluster.js";
import { rpcOk } from "../helpers/node-rpc.js";
import { connect } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer } from "../helpers/sync-malicious.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = 30_000;
const ids = syncProtocolIds(REGTEST.name);

function until(node: SyncTestNode, predicate: () => boolean, what: string) {
  return waitFor(predicate, TIMEOUT, what, {
    wakeOn: (check) => {
      node.chain.on("blockConnected", check);
      node.sync.on("syncComplete", check);
      return () => {
        node.chain.off("blockConnected", check);
        node.sync.off("syncComplete", check);
      };
    },
  });
}

/** Body requests (either block protocol) a malicious peer has answered or is holding. */
function bodyRequests(served: Map<string, number>): number {
  return (served.get(ids.blocksByHash) ?? 0) + (served.get(ids.blocksByRange) ?? 0);
}

/**
 * Waits until `node` charged `evil` with `code` and its sync round ended; asserts no body was
 * ever asked of `evil` and nothing was stored. Returns the charge.
 */
async function caughtOnHeaders(
  node: SyncTestNode,
  evil: { libp2p: { peerId: { toString(): string } }; served: Map<string, number> },
  code: SyncErrorCode,
  what: string,
) {
  await until(node, () => node.scorer.penalties.some((p) => p.code === code), what);
  const charge = node.scorer.penalties.find((p) => p.code === code);
  expect(charge).toMatchObject({ peerId: evil.libp2p.peerId.toString() });
  await until(node, () => !node.sync.progress().syncing, "the round ends");
  expect(bodyRequests(evil.served)).toBe(0);
  expect(node.chain.height).toBe(0);
  return charge;
}

describe("headers-first sync (real libp2p, LevelDB)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it("SYNC_WORK_NOT_PROVEN: a peer announcing more work than its headers prove is caught before any body request; honest peers still sync us", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(200);
    // Another branch from genesis, valid and heavier than our empty chain, with a status claiming 2^200.
    const theirs = ChainBuilder.create();
    await theirs.mineMany(40, { miner: new Uint8Array(20).fill(0x66) });
    const node = await createSyncNode([]);
    const liar = await createMaliciousPeer(REGTEST, theirs.blocks.slice(1), "invalid-blocks", {
      claimedWork: 1n << 200n,
    });
    const servers = await Promise.all([0, 1].map(() => createSyncNode(honest.blocks.slice(1))));
    cleanups.push(node.destroy, ...servers.map((s) => s.destroy), async () => {
      await liar.libp2p.stop();
    });
    const liarId = liar.libp2p.peerId.toString();

    await connect(node.libp2p, liar.libp2p);
    await until(
      node,
      () => node.scorer.penalties.some((p) => p.code === SyncErrorCode.WORK_NOT_PROVEN),
      "the liar caught",
    );
    const charge = node.scorer.penalties.find((p) => p.code === SyncErrorCode.WORK_NOT_PROVEN);
    expect(charge?.peerId).toBe(liarId);
    expect(charge?.points).toBeGreaterThan(0);
    expect(String(charge?.detail?.reason)).toMatch(/claimed work .* its headers prove/);
    // It served its headers, and was asked for no body at all.
    expect(liar.served.get(ids.headers) ?? 0).toBeGreaterThan(0);
    expect(bodyRequests(liar.served)).toBe(0);
    expect(node.chain.height).toBe(0);
    // Backed off: its claim is not the target any more.
    await until(node, () => !node.sync.progress().syncing, "the liar's round ends");
    expect(node.sync.progress().targetHeight).toBe(0);

    for (const s of servers) await connect(node.libp2p, s.libp2p);
    const honestTip = toHex(blockHash(honest.tip));
    await until(node, () => node.chain.tip.hashHex === honestTip, "honest chain synced");
    expect(node.chain.height).toBe(200);
    expect(bodyRequests(liar.served)).toBe(0);
    for (const block of theirs.blocks.slice(1))
      expect(node.chain.getEntry(toHex(blockHash(block)))).toBeUndefined();
    expect(node.scorer.penalties.every((p) => p.peerId === liarId)).toBe(true);
  });

  it.each<[string, (block: Block) => Block, BlockErrorCode]>([
    ["bad proof of work", (b) => ({ ...b, header: withoutWork(b.header) }), BlockErrorCode.HIGH_HASH],
    [
      "wrong ASERT bits",
      (b) => ({ ...b, header: { ...b.header, bits: 0x207ffffe } }),
      BlockErrorCode.BAD_DIFFICULTY,
    ],
  ])(
    "SYNC_INVALID_HEADERS: a header chain with one header of %s is caught before any body request",
    async (_, spoil, blockCode) => {
      const builder = ChainBuilder.create();
      await builder.mineMany(30);
      const blocks = builder.blocks.slice(1);
      blocks[19] = spoil(blocks[19]!);
      const node = await createSyncNode([]);
      const evil = await createMaliciousPeer(REGTEST, blocks, "invalid-blocks", { claimedWork: 1n << 100n });
      cleanups.push(node.destroy, async () => {
        await evil.libp2p.stop();
      });
      await connect(node.libp2p, evil.libp2p);
      // Not even the 19 good headers before it are fetched as bodies.
      const charge = await caughtOnHeaders(
        node,
        evil,
        SyncErrorCode.INVALID_HEADERS,
        "the bad header caught",
      );
      expect(charge?.detail).toMatchObject({ blockCode, height: 20 });
    },
  );

  it("SYNC_INVALID_HEADERS: headers hung on a block that is not in our locator are refused before any body request", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(30);
    const node = await createSyncNode([]);
    const evil = await createMaliciousPeer(REGTEST, builder.blocks.slice(1), "invalid-blocks", {
      foreignForkPoint: true,
    });
    cleanups.push(node.destroy, async () => {
      await evil.libp2p.stop();
    });
    await connect(node.libp2p, evil.libp2p);
    const charge = await caughtOnHeaders(
      node,
      evil,
      SyncErrorCode.INVALID_HEADERS,
      "the foreign fork point caught",
    );
    expect(JSON.stringify(charge?.detail)).toContain("fork point is not a block of ours");
  });
});

describe("headers-first: a claim our tip passes during the round", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it("headers that prove the claim but no more than our tip by then are no lie: no charge, no bodies", async () => {
    const theirs = ChainBuilder.create();
    await theirs.mineMany(20, { miner: new Uint8Array(20).fill(0x44) });
    const ours = ChainBuilder.create();
    await ours.mineMany(30);
    let release: () => void = () => undefined;
    const headersGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const node = await createSyncNode([]);
    const peer = await createMaliciousPeer(REGTEST, theirs.blocks.slice(1), "invalid-blocks", {
      headersGate,
    });
    cleanups.push(node.destroy, async () => {
      release();
      await peer.libp2p.stop();
    });
    await connect(node.libp2p, peer.libp2p);
    // Its honest claim (20 blocks) starts a round; while its headers answer is held, our tip
    // passes the claim (blocks from elsewhere: gossip in a live node).
    await waitFor(() => (peer.served.get(ids.headers) ?? 0) > 0, TIMEOUT, "headers requested");
    for (const block of ours.blocks.slice(1)) await node.chain.processBlock(blockEnvelope(block));
    release();
    await until(node, () => !node.sync.progress().syncing, "the round ends");
    expect(node.chain.height).toBe(30);
    expect(node.scorer.reports.filter((r) => r.peerId === peer.libp2p.peerId.toString())).toEqual([]);
    expect(bodyRequests(peer.served)).toBe(0);
  });
});

describe("headers-first progress in getStatus (createNode, HTTP API)", () => {
  const cluster = new Cluster();
  let release: () => void = () => undefined;
  let stopPeer: (() => Promise<void>) | undefined;
  afterAll(async () => {
    release();
    await stopPeer?.();
    await cluster.stopAll();
  }, 30_000);

  it("reports the header target reached while bodies are still at the fork, then both done", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(300);
    // Bodies are held back until the test has seen the headers stage finish.
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const peer = await createMaliciousPeer(REGTEST, builder.blocks.slice(1), "invalid-blocks", {
      bodiesGate: gate,
    });
    stopPeer = async () => {
      await peer.libp2p.stop();
    };
    const node: QuarryNode = await cluster.add({ minPeers: 0, sync: { requestTimeoutMs: 60_000 } });
    await peer.libp2p.dial(node.host.libp2p.getMultiaddrs());

    const status = () => rpcOk<{ sync: SyncProgress }>(node, "getStatus");
    const during = await waitFor(
      async () => {
        const s = (await status()).sync;
        return s.headers.height === 300 ? s : undefined;
      },
      TIMEOUT,
      "headers checked to 300",
    );
    expect(during.syncing).toBe(true);
    expect(during.headers).toEqual({ height: 300, targetHeight: 300 });
    expect(during.blocks).toEqual({ height: 0, targetHeight: 300 });
    // Bodies are asked for (and held by the peer): the blocks stage is under way, not done.
    await waitFor(() => bodyRequests(peer.served) > 0, TIMEOUT, "body requests sent");
    expect((await status()).sync.blocks).toEqual({ height: 0, targetHeight: 300 });

    release();
    const after = await waitFor(
      async () => {
        const s = (await status()).sync;
        return !s.syncing && s.height === 300 ? s : undefined;
      },
      TIMEOUT,
      "bodies imported",
    );
    expect(after.headers).toEqual({ height: 300, targetHeight: 300 });
    expect(after.blocks).toEqual({ height: 300, targetHeight: 300 });
  }, 60_000);
});
