import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEVNET } from "../../src/consensus/params.js";
import { encodeAddress } from "../../src/primitives/address.js";
import { testKey } from "../helpers/chain-builder.js";
import { buildTopology, deleteNamespaces, setLoss, setRouterLink, type TestbedHost } from "./netns.js";
import { type NodeStatus, TestbedNode } from "./testbed-node.js";

/** What every scenario prints (one JSON line) and the runner checks. */
export interface Summary {
  scenario: string;
  ok: boolean;
  failures: string[];
  timings: Record<string, number>;
  details: Record<string, unknown>;
}

/** A running testbed: namespaces, node processes, a temp root for datadirs. */
export class Testbed {
  readonly nodes: TestbedNode[] = [];
  readonly hosts: TestbedHost[];
  private readonly root: string;
  readonly t0 = Date.now();
  bootstrap: string[] = [];

  constructor(publicHosts: number, routers: number, perRouter: number) {
    deleteNamespaces();
    this.root = mkdtempSync(join(tmpdir(), "quarry-testbed-"));
    this.hosts = buildTopology(publicHosts, routers, perRouter);
    for (const [i, h] of this.hosts.entries()) {
      this.nodes.push(
        new TestbedNode(h, this.root, encodeAddress(DEVNET.addressPrefix, testKey(i + 1).address)),
      );
    }
  }

  node(name: string): TestbedNode {
    const n = this.nodes.find((x) => x.host.name === name);
    if (!n) throw new Error(`no host ${name}`);
    return n;
  }

  get publicNodes(): TestbedNode[] {
    return this.nodes.filter((n) => n.host.router === 0);
  }

  get natedNodes(): TestbedNode[] {
    return this.nodes.filter((n) => n.host.router !== 0);
  }

  /** Starts public nodes first (the bootstrap list), then the NATed ones; `miners` mine. */
  startAll(miners: readonly string[]): void {
    this.bootstrap = this.publicNodes.map((n) => n.identify());
    for (const n of this.nodes) n.identify();
    for (const n of this.nodes) n.start({ bootstrap: this.bootstrap, mine: miners.includes(n.host.name) });
  }

  /** Restarts a node, mining or not (its chain stays in its datadir). */
  async restart(name: string, mine: boolean): Promise<void> {
    const n = this.node(name);
    await n.stop();
    n.start({ bootstrap: this.bootstrap, mine });
  }

  elapsed(): number {
    return Date.now() - this.t0;
  }

  /** Kills every node, then deletes the namespaces and the datadirs. Safe to call twice. */
  async cleanup(keepLogs: boolean): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(3_000)));
    deleteNamespaces();
    if (!keepLogs) rmSync(this.root, { recursive: true, force: true });
    else console.error(`testbed: logs kept in ${this.root}/<host>/node.log`);
  }

  /** For signal and exit handlers: synchronous. */
  killNow(): void {
    for (const n of this.nodes) n.killNow();
    deleteNamespaces();
  }
}

/**
 * Polls `check` every second until it returns a value; throws after `timeoutMs` with the last
 * thing `check` passed to `note`.
 */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: (note: (seen: unknown) => void) => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  for (;;) {
    const value = await check((s) => {
      seen = s;
    });
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${seen === undefined ? "" : `; last seen ${JSON.stringify(seen)}`}`,
      );
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function statuses(nodes: readonly TestbedNode[]): Promise<(NodeStatus | undefined)[]> {
  return Promise.all(nodes.map((n) => n.status()));
}

/** Resolves with the common tip once every node in `nodes` reports the same one. */
export function converged(
  nodes: readonly TestbedNode[],
  timeoutMs: number,
  what: string,
): Promise<NodeStatus> {
  return waitUntil(what, timeoutMs, async () => {
    const all = await statuses(nodes);
    const first = all[0];
    if (!first || first.height === 0) return undefined;
    return all.every((s) => s?.tip === first.tip) ? first : undefined;
  });
}

function work(s: NodeStatus): bigint {
  return BigInt(s.chainWork);
}

/**
 * (a) 3 public + 9 NATed nodes behind 3 routers, one NATed miner. Every NATed node reserves a
 * relay slot, every NATed node holds a connection to a NATed node behind another router (through a
 * relay, or direct after DCUtR) that is in its block-gossip mesh, and all converge.
 */
export async function scenarioA(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  tb.startAll(["n11"]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  timings.apisUpMs = tb.elapsed();
  const nated = tb.natedNodes;
  const natedIds = new Map(nated.map((n) => [n.peerId, n.host.router]));
  const relayed = await waitUntil("a relay address on every NATed node", 60_000, async () => {
    const infos = await Promise.all(nated.map((n) => n.peers()));
    return infos.every((p) => (p?.nat.relayAddresses.length ?? 0) > 0) ? infos : undefined;
  });
  timings.allRelayReachableMs = tb.elapsed();
  const relayAfter = relayed.map((p) => p?.nat.relayReachableAfterMs ?? -1).sort((a, b) => a - b);
  timings.relayReachableP50Ms = relayAfter[Math.floor(relayAfter.length / 2)] ?? -1;
  timings.relayReachableMaxMs = relayAfter.at(-1) ?? -1;
  // every NATed node: connected to a NATed node behind another router (relayed, or direct after
  // hole punching), with gossip running over that connection
  const crossLinks = await waitUntil("a cross-NAT gossip link on every NATed node", 90_000, async (note) => {
    const infos = await Promise.all(nated.map((n) => n.peers()));
    const links = nated.map((n, i) => {
      const info = infos[i];
      const cross = (info?.connected ?? []).filter((p) => {
        const r = natedIds.get(p);
        return r !== undefined && r !== n.host.router;
      });
      return {
        node: n.host.name,
        cross: cross.length,
        relayed: cross.filter((p) => info?.nat.relayedPeers.includes(p)).length,
        inBlockMesh: cross.filter((p) => info?.nat.relayedBlockMeshPeers.includes(p)).length,
        gossipDirect: cross.filter((p) => info?.nat.gossipDirectPeers.includes(p)).length,
      };
    });
    note(links);
    // block gossip runs over the link: the peer is in our block mesh, is a gossip direct peer
    // (every block goes to it), or the link is direct (hole punched)
    return links.every((l) => l.inBlockMesh + l.gossipDirect > 0 || l.cross > l.relayed) ? links : undefined;
  }).catch((err: Error) => {
    failures.push(err.message);
    return [];
  });
  timings.crossNatLinksMs = tb.elapsed();
  // blocks keep coming while the relayed links stand: 30 more, then the miner stops (restarted
  // without --mine) and every node must reach its tip
  const linked = (await tb.node("n11").status())?.height ?? 0;
  await waitUntil(
    "30 blocks mined over the linked network",
    60_000,
    async () => ((await tb.node("n11").status())?.height ?? 0) >= linked + 30,
  );
  await tb.restart("n11", false);
  const tip = await converged(tb.nodes, 90_000, "all 12 nodes on one tip").catch((err: Error) => {
    failures.push(err.message);
    return undefined;
  });
  timings.convergedMs = tb.elapsed();
  const peerInfos = await Promise.all(tb.nodes.map((n) => n.peers()));
  const bans = peerInfos.reduce((s, p) => s + (p?.bans.length ?? 0), 0);
  if (bans > 0) failures.push(`${bans} bans`);
  // block gossip that crossed a relay: accepted from a peer reached only through one (counted
  // by each node), and relayed cross-NAT peers in block-gossip meshes
  const relayedBlocks = peerInfos.map((p) => p?.nat.relayedDeliveries.block ?? 0);
  const relayedMeshLinks = crossLinks.reduce((s, l) => s + l.inBlockMesh, 0);
  if (relayedMeshLinks + relayedBlocks.reduce((x, y) => x + y, 0) === 0)
    failures.push("no block gossip crossed a relay anywhere");
  return {
    scenario: "a-nat-relay",
    ok: failures.length === 0,
    failures,
    timings,
    details: {
      height: tip?.height,
      tip: tip?.tip,
      crossLinks,
      relayedMeshLinks,
      relayedBlocksByNode: Object.fromEntries(tb.nodes.map((n, i) => [n.host.name, relayedBlocks[i]])),
      bans,
      dcutr: "not expected here: see docs/TESTBED.md",
    },
  };
}

/**
 * (b) Router 1's hosts are cut off; one miner on each side; heal; every node adopts the tip with
 * the most work.
 */
export async function scenarioB(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  tb.startAll(["pub1", "n11"]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  await waitUntil("every node past height 10", 90_000, async () =>
    (await statuses(tb.nodes)).every((s) => (s?.height ?? 0) >= 10),
  );
  timings.startedMs = tb.elapsed();
  setRouterLink(1, false);
  const atCut = (await tb.node("pub1").status())?.height ?? 0;
  // both sides mine on their own
  await waitUntil("both miners 30 blocks past the cut", 90_000, async () => {
    const [a, b] = await statuses([tb.node("pub1"), tb.node("n11")]);
    return (a?.height ?? 0) >= atCut + 30 && (b?.height ?? 0) >= atCut + 30;
  });
  await Promise.all([tb.restart("pub1", false), tb.restart("n11", false)]);
  const sideA = await waitUntil("pub1 answering", 30_000, () => tb.node("pub1").status());
  const sideB = await waitUntil("n11 answering", 30_000, () => tb.node("n11").status());
  if (sideA.tip === sideB.tip) failures.push("the two sides did not diverge");
  timings.partitionedMs = tb.elapsed();
  setRouterLink(1, true);
  const heavier = work(sideA) >= work(sideB) ? sideA : sideB;
  const tie = work(sideA) === work(sideB);
  const tip = await converged(tb.nodes, 120_000, "all nodes on one tip after the heal").catch(
    (err: Error) => {
      failures.push(err.message);
      return undefined;
    },
  );
  timings.healedConvergedMs = tb.elapsed();
  if (tip && !tie && tip.tip !== heavier.tip)
    failures.push(`converged on ${tip.tip}, not the heavier ${heavier.tip}`);
  if (tip && tie && tip.tip !== sideA.tip && tip.tip !== sideB.tip)
    failures.push("converged on neither side's tip");
  const bans = (await Promise.all(tb.nodes.map((n) => n.peers()))).reduce(
    (s, p) => s + (p?.bans.length ?? 0),
    0,
  );
  if (bans > 0) failures.push(`${bans} bans`);
  return {
    scenario: "b-partition-heal",
    ok: failures.length === 0,
    failures,
    timings,
    details: {
      cutAtHeight: atCut,
      sideA: { height: sideA.height, chainWork: sideA.chainWork },
      sideB: { height: sideB.height, chainWork: sideB.chainWork },
      tie,
      final: tip ? { height: tip.height, tip: tip.tip } : undefined,
      bans,
    },
  };
}

/**
 * (c) A NATed node mines 50 blocks alone (its router cut off, nobody else mining), rejoins, and
 * the whole network adopts its branch.
 */
export async function scenarioC(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  tb.startAll([]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  setRouterLink(1, false);
  await tb.restart("n11", true);
  const offline = await waitUntil("n11 50 blocks ahead", 90_000, async () => {
    const s = await tb.node("n11").status();
    return s && s.height >= 50 ? s : undefined;
  });
  await tb.restart("n11", false);
  const branch = await waitUntil("n11 answering", 30_000, () => tb.node("n11").status());
  timings.offlineMinedMs = tb.elapsed();
  setRouterLink(1, true);
  const tip = await converged(tb.nodes, 120_000, "all nodes on n11's branch").catch((err: Error) => {
    failures.push(err.message);
    return undefined;
  });
  timings.adoptedMs = tb.elapsed();
  if (tip && tip.tip !== branch.tip) failures.push(`converged on ${tip.tip}, not n11's ${branch.tip}`);
  return {
    scenario: "c-offline-miner",
    ok: failures.length === 0,
    failures,
    timings,
    details: { offlineHeight: offline.height, final: tip?.height },
  };
}

/** (d) 5 % loss on every host's incoming packets while one node mines: no bans, convergence. */
export async function scenarioD(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  setLoss(tb.hosts, 0.05);
  tb.startAll(["pub1"]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  await waitUntil(
    "some blocks mined",
    90_000,
    async () => ((await tb.node("pub1").status())?.height ?? 0) >= 50,
  );
  await tb.restart("pub1", false);
  const stoppedAt = Date.now();
  const tip = await converged(tb.nodes, 120_000, "all nodes on one tip under 5 % loss").catch(
    (err: Error) => {
      failures.push(err.message);
      return undefined;
    },
  );
  timings.convergedAfterMinerStopMs = Date.now() - stoppedAt;
  const bans = (await Promise.all(tb.nodes.map((n) => n.peers()))).reduce(
    (s, p) => s + (p?.bans.length ?? 0),
    0,
  );
  if (bans > 0) failures.push(`${bans} bans`);
  return {
    scenario: "d-loss",
    ok: failures.length === 0,
    failures,
    timings,
    details: { height: tip?.height, bans },
  };
}

export const SCENARIOS = {
  a: { topology: [3, 3, 3] as const, run: scenarioA },
  b: { topology: [3, 3, 3] as const, run: scenarioB },
  c: { topology: [2, 2, 2] as const, run: scenarioC },
  d: { topology: [2, 2, 2] as const, run: scenarioD },
};
