import { TopicValidatorResult } from "@libp2p/gossipsub";
import { afterAll, describe, expect, it } from "vitest";
import type { PeerPenalizedEvent } from "../../src/network/index.js";
import { createNode, type QuarryNode } from "../../src/node.js";
import { silentLogger } from "../../src/util/logger.js";
import { addressOf, clusterNodeOptions, mineBlocks, sameTip } from "../helpers/multinode-cluster.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/** Miners stop once their chain reaches this height: deep inside regtest's ASERT ramp. */
const STOP_HEIGHT = 400;
const MINERS = 5;

/**
 * Honest peers are never punished (docs/NETWORK.md, "Penalty policy"). Regtest mined live from
 * genesis finds hundreds of blocks per second for the first minutes (difficulty starts at the pow
 * limit and ASERT climbs one doubling per 60 blocks ahead of schedule), so every node receives
 * bursts of valid blocks it cannot import yet: orphans, duplicates, competing branches. None of
 * that may cost a peer a point.
 */
describe("honest peers through the regtest ASERT ramp (createNode, real libp2p and LevelDB; slow)", () => {
  const dir = tempDir("quarry-ramp-");
  const live = new Set<QuarryNode>();
  const penalties: PeerPenalizedEvent[] = [];
  const bans: string[] = [];
  afterAll(async () => {
    await Promise.allSettled([...live].map((n) => n.stop()));
    dir.cleanup();
  }, 30_000);

  /** Creates and starts a node on `datadir`, watching every charge and ban it makes. */
  async function start(datadir: string, init: Parameters<typeof clusterNodeOptions>[1]): Promise<QuarryNode> {
    const node = await createNode(clusterNodeOptions(datadir, init), { log: silentLogger });
    node.host.reputation.on("penalized", (e) => penalties.push(e));
    node.host.reputation.on("banned", (b) => bans.push(`${b.peerId} ${b.code}`));
    // a miner stops at STOP_HEIGHT, whoever found the block that got it there
    node.chain.on("blockConnected", () => {
      if (node.chain.height >= STOP_HEIGHT) void node.producer?.stop();
    });
    live.add(node);
    await node.start();
    return node;
  }

  it("five miners from genesis, one node joining and one restarting mid-ramp: zero bans, zero penalty points, one tip", async () => {
    const started = performance.now();
    const boot = await start(`${dir.path}/m0`, { minerKey: 0, minPeers: 4 });
    const bootstrap = [addressOf(boot)];
    const miners = [boot];
    for (let i = 1; i < MINERS; i++)
      miners.push(await start(`${dir.path}/m${i}`, { minerKey: i, bootstrap, minPeers: 4 }));

    // A node joining mid-ramp receives hundreds of valid blocks per second it cannot import yet.
    await waitFor(() => boot.chain.height >= STOP_HEIGHT / 4, 60_000, "ramp under way");
    const joiner = await start(`${dir.path}/joiner`, { bootstrap, minPeers: 4 });
    const joinedAt = boot.chain.height;

    // A miner restarts mid-ramp on the same datadir (same identity, same chain).
    await waitFor(() => boot.chain.height >= STOP_HEIGHT / 2, 60_000, "half-way up the ramp");
    const restarting = miners[MINERS - 1]!;
    await restarting.stop();
    live.delete(restarting);
    const restarted = await start(`${dir.path}/m${MINERS - 1}`, {
      minerKey: MINERS - 1,
      bootstrap,
      minPeers: 4,
    });
    miners[MINERS - 1] = restarted;
    const restartedAt = boot.chain.height;

    const nodes = [...miners, joiner];
    await waitFor(
      () => miners.every((m) => m.chain.height >= STOP_HEIGHT),
      60_000,
      "every miner at the stop height",
    );
    await Promise.all(miners.map((m) => m.producer?.stop()));
    // Equal-work tips can remain (fork choice keeps the first seen): one more block decides, as it
    // would on a live network. Bounded: at most three tries.
    for (let attempt = 0; attempt < 3 && !sameTip(nodes); attempt++) {
      await mineBlocks(boot, 1, 20_000);
      await waitFor(() => sameTip(nodes), 20_000, "one tip").catch(() => undefined);
    }
    const seconds = (performance.now() - started) / 1000;

    expect(sameTip(nodes)).toBe(true);
    expect(bans).toEqual([]);
    expect(penalties.map((p) => `${p.code} ${p.points}`)).toEqual([]);
    for (const n of nodes)
      expect(n.host.verdicts.total({ kind: "block", result: TopicValidatorResult.Reject })).toBe(0);
    const orphans = nodes.reduce(
      (sum, n) => sum + n.host.verdicts.total({ kind: "block", code: "ORPHAN" }),
      0,
    );
    const busy = nodes.reduce(
      (sum, n) => sum + n.host.verdicts.total({ kind: "block", code: "NET_BUSY" }),
      0,
    );
    console.log(
      `ramp: ${MINERS} miners to height ${boot.chain.height} in ${seconds.toFixed(1)} s; joiner at ${joinedAt}, ` +
        `restart at ${restartedAt}; ${orphans} orphan and ${busy} busy block verdicts, 0 penalties`,
    );
  }, 180_000);
});
