import { afterAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { SyncErrorCode } from "../../src/sync/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster, dialNode, feedBlocks } from "../helpers/multinode-cluster.js";
import type { TestLibp2p } from "../helpers/sync-libp2p.js";
import { CLAIMED_HEIGHT, createMaliciousPeer } from "../helpers/sync-malicious.js";
import { waitFor } from "../helpers/wait.js";

const SYNC_BOUND_S = 20;
const BAN_BOUND_S = 45;

/**
 * A peer that claims 2^200 work (height 5,000,000) and serves nothing, next to two honest peers.
 * Before sync judged peers by delivery, the liar restarted sync rounds forever (each of its
 * timeouts dropped it from the round; the re-announce after the round brought its claim back),
 * the node reported "syncing" towards 5,000,000 and never synced from the honest peers.
 */
describe("SYNC_NOT_DELIVERING: a liar that claims work and serves nothing (plain libp2p)", () => {
  const cluster = new Cluster();
  let liar: TestLibp2p | undefined;
  let stopRedial = false;
  afterAll(async () => {
    stopRedial = true;
    await liar?.libp2p.stop();
    await cluster.stopAll();
  }, 30_000);

  it("is backed off and charged until banned while the node syncs the honest chain", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(200);
    const servers = [await cluster.add({ minPeers: 0 }), await cluster.add({ minPeers: 0 })];
    for (const s of servers) await feedBlocks(s, honest.blocks.slice(1));
    const node = await cluster.add({
      minPeers: 0,
      maxPeers: 20,
      sync: { requestTimeoutMs: 2_000, peerBackoffBaseMs: 1_000 },
    });
    const evil = await createMaliciousPeer(REGTEST, [], "serves-nothing");
    liar = evil;
    const liarId = evil.libp2p.peerId.toString();
    // A persistent attacker: whenever the node hangs up, it dials again (refused once banned).
    evil.libp2p.addEventListener("peer:disconnect", () => {
      if (!stopRedial) void evil.libp2p.dial(node.host.libp2p.getMultiaddrs()).catch(() => undefined);
    });

    const started = performance.now();
    await evil.libp2p.dial(node.host.libp2p.getMultiaddrs());
    // The liar's claim is known (and its first round under way) before the honest peers arrive.
    await waitFor(() => node.sync.progress().targetHeight === CLAIMED_HEIGHT, 5_000, "liar's claim seen");
    for (const s of servers) await dialNode(s, node);

    const honestTip = servers[0]!.chain.tip.hashHex;
    await waitFor(() => node.chain.tip.hashHex === honestTip, SYNC_BOUND_S * 1000, "honest chain synced");
    const syncSeconds = (performance.now() - started) / 1000;
    await waitFor(() => node.host.reputation.isBanned(liarId), BAN_BOUND_S * 1000, "liar banned");
    const banSeconds = (performance.now() - started) / 1000;
    console.log(
      `liar + 2 honest: synced 200 blocks after ${syncSeconds.toFixed(1)} s, liar banned after ${banSeconds.toFixed(1)} s`,
    );

    expect(node.chain.height).toBe(200);
    const codes = node.host.securityLog
      .recent(1000)
      .filter((e) => e.peerId === liarId)
      .map((e) => e.code);
    expect(codes).toContain(SyncErrorCode.NOT_DELIVERING);
    // The honest servers were never charged for the liar's failures.
    for (const s of servers) expect(node.host.reputation.score(s.host.peerId)).toBe(0);
    // With the liar gone, the node is not syncing towards its claimed height any more.
    await waitFor(() => !node.sync.progress().syncing, 5_000, "sync idle");
    expect(node.sync.progress().targetHeight).toBe(200);
    // The ban hangs up on the liar (asynchronously) and its redials are refused.
    await waitFor(() => !node.host.connectedPeers().includes(liarId), 10_000, "the liar disconnected");
  }, 90_000);
});
