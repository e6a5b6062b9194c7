import { afterEach, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { blockHash, toHex } from "../../src/primitives/index.js";
import { syncProtocolIds } from "../../src/sync/protocols/ids.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { connect } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer } from "../helpers/sync-malicious.js";
import { createSyncNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Orphans from gossip (docs/SYNC.md, "Orphans from gossip"): a node that joins a chain mining
 * hundreds of blocks a second gets an orphan per block, and used to start an ancestor walk and a
 * status request for each, which kept it at one height for 20-30 s. Real libp2p on 127.0.0.1, a
 * real chain; the serving peer (plain libp2p, honest blocks) counts what it is asked and holds
 * body requests until the test lets them go.
 */

const ids = syncProtocolIds(REGTEST.name);
const TIMEOUT = 15_000;

function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe("sync: ancestor walks for gossiped orphans", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });

  it("orphans that miss the same block start one walk, and their status requests are coalesced", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(8);
    const node = await createSyncNode(builder.blocks.slice(1, 6));
    const bodies = gate();
    // It claims our work, so connecting starts no round: only the walks ask it for blocks.
    const peer = await createMaliciousPeer(REGTEST, builder.blocks.slice(1), "invalid-blocks", {
      claimedWork: node.chain.tip.chainWork,
      bodiesGate: bodies.wait,
    });
    cleanups.push(node.destroy, async () => {
      await peer.libp2p.stop();
    });
    await connect(node.libp2p, peer.libp2p);
    const peerId = peer.libp2p.peerId.toString();
    await waitFor(() => peer.served.get(ids.status) === 1, TIMEOUT, "the status exchange on connect");

    // five orphans (heights 8, 8, 8, 8, 8 say) all missing block 7
    const missing = toHex(blockHash(builder.blocks[7]!));
    const walks = Array.from({ length: 5 }, () => node.sync.requestAncestors(peerId, missing));
    await waitFor(() => peer.served.get(ids.blocksByHash) === 1, TIMEOUT, "the one walk's request");
    bodies.open();
    await Promise.all(walks);
    // block 7 (an orphan itself), then block 6, which connects both
    await waitFor(() => node.chain.height === 7, TIMEOUT, "blocks 6 and 7 connected");
    expect(peer.served.get(ids.blocksByHash)).toBe(2);
    // the four skipped walks asked for the peer's status: one request, then one more after it
    await waitFor(() => (peer.served.get(ids.status) ?? 0) >= 2, TIMEOUT, "the coalesced status requests");
    expect(peer.served.get(ids.status)).toBeLessThanOrEqual(3);
  });

  it("no walk while a sync round runs: the round fetches the orphan's ancestors anyway", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(10);
    const node = await createSyncNode(builder.blocks.slice(1, 3));
    const bodies = gate();
    // its real work: connecting starts a round, whose bodies wait at the gate
    const peer = await createMaliciousPeer(REGTEST, builder.blocks.slice(1), "invalid-blocks", {
      bodiesGate: bodies.wait,
    });
    cleanups.push(node.destroy, async () => {
      await peer.libp2p.stop();
    });
    await connect(node.libp2p, peer.libp2p);
    await waitFor(() => (peer.served.get(ids.blocksByRange) ?? 0) > 0, TIMEOUT, "the round's body request");
    expect(node.sync.progress().syncing).toBe(true);

    await node.sync.requestAncestors(peer.libp2p.peerId.toString(), toHex(blockHash(builder.blocks[9]!)));
    expect(peer.served.get(ids.blocksByHash) ?? 0).toBe(0);
    bodies.open();
    await waitFor(() => node.chain.height === 10, TIMEOUT, "the round to reach the tip");
    expect(peer.served.get(ids.blocksByHash) ?? 0).toBe(0);
  });
});
