import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEVNET } from "../../src/consensus/params.js";
import { encodeAddress } from "../../src/primitives/address.js";
import { testKey } from "../helpers/chain-builder.js";
import {
  buildTopology,
  deleteNamespaces,
  rebindNat,
  setLoss,
  setRouterLink,
  type TestbedHost,
} from "./netns.js";
import { type Propagation, propagation } from "./propagation.js";
import { API_PORT, type NodeStatus, TestbedNode } from "./testbed-node.js";
import { TipAgent, type TipSeen } from "./tip-agent.js";

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
  /** host name -> its tip agent (startAgents) */
  readonly agents = new Map<string, TipAgent>();
  readonly hosts: TestbedHost[];
  private readonly root: string;
  readonly t0 = Date.now();
  bootstrap: string[] = [];
  /** host name -> bootstrap list, for nodes started by `startGroup` */
  private readonly groupBootstrap = new Map<string, string[]>();
  /** blocks whose propagation scenarios (a) and (direct) measure (the bench takes more) */
  measuredBlocks = 30;

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

  /**
   * Starts every node; `miners` mine. The first 3 public nodes are everyone's bootstrap list
   * (the all-public topology has more public nodes than that).
   */
  startAll(miners: readonly string[]): void {
    this.bootstrap = this.publicNodes.slice(0, 3).map((n) => n.identify());
    for (const n of this.nodes) n.identify();
    for (const n of this.nodes) n.start({ bootstrap: this.bootstrap, mine: miners.includes(n.host.name) });
  }

  /**
   * Starts `nodes` as a network of their own: `boot` (some of them) is their bootstrap list, so
   * they never learn of nodes outside the group (two groups on one internet stay two networks).
   */
  startGroup(nodes: readonly TestbedNode[], boot: readonly TestbedNode[], miners: readonly string[]): void {
    const bootstrap = boot.map((n) => n.identify());
    for (const n of nodes) {
      n.identify();
      this.groupBootstrap.set(n.host.name, bootstrap);
    }
    for (const n of nodes) n.start({ bootstrap, mine: miners.includes(n.host.name) });
  }

  /** Restarts a node, mining or not (its chain stays in its datadir). */
  async restart(name: string, mine: boolean): Promise<void> {
    const n = this.node(name);
    await n.stop();
    n.start({ bootstrap: this.groupBootstrap.get(name) ?? this.bootstrap, mine });
  }

  /** Starts a tip agent (first time each block became the tip) on every node. */
  startAgents(): void {
    for (const n of this.nodes) {
      const agent = new TipAgent(n.host, API_PORT);
      this.agents.set(n.host.name, agent);
      agent.start();
    }
  }

  /** What node `name`'s agent saw. */
  seen(name: string): ReadonlyMap<string, TipSeen> {
    const a = this.agents.get(name);
    if (!a) throw new Error(`no tip agent on ${name}`);
    return a.seen;
  }

  /** The highest block node `name`'s agent saw become the tip (0: none). */
  seenHeight(name: string): number {
    let max = 0;
    for (const t of this.seen(name).values()) max = Math.max(max, t.height);
    return max;
  }

  elapsed(): number {
    return Date.now() - this.t0;
  }

  /** Kills every node, then deletes the namespaces and the datadirs. Safe to call twice. */
  async cleanup(keepLogs: boolean): Promise<void> {
    for (const a of this.agents.values()) a.stop();
    await Promise.all(this.nodes.map((n) => n.stop(3_000)));
    deleteNamespaces();
    if (!keepLogs) rmSync(this.root, { recursive: true, force: true });
    else console.error(`testbed: logs kept in ${this.root}/<host>/node.log`);
  }

  /** For signal and exit handlers: synchronous. */
  killNow(): void {
    for (const a of this.agents.values()) a.stop();
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

/** Propagation of the blocks at heights `from+1 ..= to` from `miner` to each group of nodes. */
async function measurePropagation(
  tb: Testbed,
  miner: string,
  from: number,
  to: number,
  groups: Record<string, readonly TestbedNode[]>,
): Promise<Record<string, Propagation>> {
  // a node of the measured network (not the miner, which is restarting)
  const reader = Object.values(groups).flat()[0]!;
  const hashes: string[] = [];
  for (let h = from + 1; h <= to; h++) hashes.push(await reader.hashAt(h));
  if (hashes.some((h) => h === ""))
    throw new Error(`${reader.host.name} lacks a block in ${from + 1}..${to}`);
  const everyone = Object.values(groups).flat();
  // the events were pushed when the blocks connected: give the pipes a moment to hand them over
  await waitUntil("every tip agent to have seen every measured block", 15_000, async () =>
    everyone.every((n) => hashes.every((h) => tb.seen(n.host.name).has(h))),
  ).catch(() => undefined); // what stays missing counts as not delivered below
  const result: Record<string, Propagation> = {};
  for (const [group, nodes] of Object.entries(groups)) {
    result[group] = propagation(
      hashes,
      tb.seen(miner),
      new Map(nodes.map((n) => [n.host.name, tb.seen(n.host.name)])),
    );
  }
  return result;
}

/** A failure per node of `p` that missed blocks (delivery must be 100 %). */
function deliveryFailures(group: string, p: Propagation): string[] {
  return Object.entries(p.missing)
    .filter(([, k]) => k > 0)
    .map(([name, k]) => `${group}: ${name} never connected ${k} of the ${p.blocks} measured blocks`);
}

/**
 * Waits until every node of `nated` is connected to a NATed node behind another router (relayed,
 * or direct after hole punching) with block gossip running over that connection.
 */
function waitCrossNatLinks(nated: readonly TestbedNode[], timeoutMs: number) {
  const natedIds = new Map(nated.map((n) => [n.peerId, n.host.router]));
  return waitUntil("a cross-NAT gossip link on every NATed node", timeoutMs, async (note) => {
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
  });
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
  tb.startAgents();
  const nated = tb.natedNodes;
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
  const crossLinks = await waitCrossNatLinks(nated, 90_000).catch((err: Error) => {
    failures.push(err.message);
    return [];
  });
  timings.crossNatLinksMs = tb.elapsed();
  // blocks keep coming while the relayed links stand: `measuredBlocks` more, then the miner stops (restarted
  // without --mine) and every node must reach its tip
  const linked = (await tb.node("n11").status())?.height ?? 0;
  await waitUntil(
    `${tb.measuredBlocks} blocks mined over the linked network`,
    2_000 * tb.measuredBlocks,
    async () => ((await tb.node("n11").status())?.height ?? 0) >= linked + tb.measuredBlocks,
  );
  // the measured blocks are these: the miner's own tip events must be in before it stops
  await waitUntil(
    "n11's tip agent to see the last measured block",
    30_000,
    async () => tb.seenHeight("n11") >= linked + tb.measuredBlocks,
  );
  await tb.restart("n11", false);
  const tip = await converged(tb.nodes, 90_000, "all 12 nodes on one tip").catch((err: Error) => {
    failures.push(err.message);
    return undefined;
  });
  timings.convergedMs = tb.elapsed();
  // propagation of the blocks mined while the links stood, to every node (the miner's own
  // connect time is the start), split into public nodes and NATed ones; 100 % delivery required
  const others = tb.nodes.filter((n) => n.host.name !== "n11");
  const prop = tip
    ? await measurePropagation(tb, "n11", linked, linked + tb.measuredBlocks, {
        all: others,
        public: tb.publicNodes,
        nated: others.filter((n) => n.host.router !== 0),
      })
    : undefined;
  if (prop)
    failures.push(...deliveryFailures("nated", prop.nated!), ...deliveryFailures("public", prop.public!));
  const peerInfos = await Promise.all(tb.nodes.map((n) => n.peers()));
  const bans = peerInfos.reduce((s, p) => s + (p?.bans.length ?? 0), 0);
  if (bans > 0) failures.push(`${bans} bans`);
  // block gossip that crossed a relay: accepted from a peer reached only through one (counted
  // by each node), and relayed cross-NAT peers in block-gossip meshes
  const relayedBlocks = peerInfos.map((p) => p?.nat.relayedDeliveries.block ?? 0);
  const relayedMeshLinks = crossLinks.reduce((s, l) => s + l.inBlockMesh, 0);
  if (relayedMeshLinks + relayedBlocks.reduce((x, y) => x + y, 0) === 0)
    failures.push("no block gossip crossed a relay anywhere");
  // every NATed node exchanged blocks with another NATed node: one of the two accepted a
  // gossiped block first from the other (each node counts its deliverers per peer)
  const delivered = new Map(
    tb.nodes.map((n, i) => [n.peerId, peerInfos[i]?.nat.blockDeliveriesByPeer ?? {}]),
  );
  const exchanges = nated.map((n) => {
    const partners = nated.filter(
      (m) =>
        m !== n &&
        ((delivered.get(n.peerId)?.[m.peerId] ?? 0) > 0 || (delivered.get(m.peerId)?.[n.peerId] ?? 0) > 0),
    );
    return {
      node: n.host.name,
      partners: partners.map((m) => m.host.name),
      crossRouter: partners.filter((m) => m.host.router !== n.host.router).length,
    };
  });
  for (const e of exchanges)
    if (e.partners.length === 0) failures.push(`${e.node} exchanged no block with another NATed node`);
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
      natedBlockExchanges: exchanges,
      propagation: prop,
      bans,
      dcutr: "not expected here: see docs/TESTBED.md",
    },
  };
}

/**
 * (direct) 12 public nodes, one miner: the all-direct propagation figure the NATed topology of (a)
 * is compared with (`npm run bench -- testbed` runs both). Same bootstrap list (3 nodes), same
 * peer limits; blocks measured once every node has 4 peers and the chain is past its first
 * seconds' burst.
 */
export async function scenarioDirect(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  tb.startAll(["pub1"]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  timings.apisUpMs = tb.elapsed();
  tb.startAgents();
  await waitUntil("every node with 4 peers and past height 40", 90_000, async (note) => {
    const all = await statuses(tb.nodes);
    note(all.map((s) => [s?.peers, s?.height]));
    return all.every((s) => (s?.peers ?? 0) >= 4 && s!.height >= 40);
  });
  const from = (await tb.node("pub1").status())?.height ?? 0;
  timings.measureFromMs = tb.elapsed();
  await waitUntil(
    `${tb.measuredBlocks} blocks mined`,
    2_000 * tb.measuredBlocks,
    async () => ((await tb.node("pub1").status())?.height ?? 0) >= from + tb.measuredBlocks,
  );
  await waitUntil(
    "pub1's tip agent to see the last measured block",
    30_000,
    async () => tb.seenHeight("pub1") >= from + tb.measuredBlocks,
  );
  await tb.restart("pub1", false);
  const tip = await converged(tb.nodes, 90_000, "all nodes on one tip").catch((err: Error) => {
    failures.push(err.message);
    return undefined;
  });
  timings.convergedMs = tb.elapsed();
  const others = tb.nodes.filter((n) => n.host.name !== "pub1");
  const prop = tip
    ? await measurePropagation(tb, "pub1", from, from + tb.measuredBlocks, { all: others })
    : undefined;
  if (prop) failures.push(...deliveryFailures("all", prop.all!));
  const bans = (await Promise.all(tb.nodes.map((n) => n.peers()))).reduce(
    (s, p) => s + (p?.bans.length ?? 0),
    0,
  );
  if (bans > 0) failures.push(`${bans} bans`);
  return {
    scenario: "direct-all-public",
    ok: failures.length === 0,
    failures,
    timings,
    details: { height: tip?.height, propagation: prop, bans },
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
  let sideA = await waitUntil("pub1 answering", 30_000, () => tb.node("pub1").status());
  const sideB = await waitUntil("n11 answering", 30_000, () => tb.node("n11").status());
  if (sideA.tip === sideB.tip) failures.push("the two sides did not diverge");
  // Equal work (it happens: CI saw two 74-block sides with the same work): every node keeps the
  // tip it saw first, as Bitcoin's nodes do, and with nobody mining after the heal nothing would
  // ever move. The next block decides a tie in a real network; side A mines it before the heal.
  const tie = work(sideA) === work(sideB);
  if (tie) {
    await tb.restart("pub1", true);
    await waitUntil(
      "pub1 to mine past the tie",
      60_000,
      async () => ((await tb.node("pub1").status())?.height ?? 0) > sideA.height,
    );
    await tb.restart("pub1", false);
    sideA = await waitUntil("pub1 answering", 30_000, () => tb.node("pub1").status());
  }
  timings.partitionedMs = tb.elapsed();
  setRouterLink(1, true);
  const heavier = work(sideA) >= work(sideB) ? sideA : sideB;
  const tip = await converged(tb.nodes, 120_000, "all nodes on one tip after the heal").catch(
    (err: Error) => {
      failures.push(err.message);
      return undefined;
    },
  );
  timings.healedConvergedMs = tb.elapsed();
  if (tip && tip.tip !== heavier.tip)
    failures.push(`converged on ${tip.tip}, not the heavier ${heavier.tip}`);
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

/**
 * (pair) Scenario (a)'s network and the 12-node all-public one *at the same time*, on one internet
 * but as two networks (each its own bootstrap list; nobody learns of the other group): both
 * propagation figures under the same machine load, which on a shared 2-core machine changes from
 * minute to minute. Miners n11 (NATed) and pub4 (the all-public group's first node).
 */
export async function scenarioPair(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  const natPublic = ["pub1", "pub2", "pub3"].map((n) => tb.node(n));
  const natGroup = tb.nodes.filter((n) => n.host.router !== 0 || natPublic.includes(n));
  const directGroup = tb.nodes.filter((n) => !natGroup.includes(n));
  tb.startGroup(natGroup, natPublic, ["n11"]);
  tb.startGroup(directGroup, directGroup.slice(0, 3), ["pub4"]);
  await waitUntil("every API answering", 150_000, async () => (await statuses(tb.nodes)).every((s) => s));
  timings.apisUpMs = tb.elapsed();
  tb.startAgents();
  const nated = tb.natedNodes;
  const relayed = await waitUntil("a relay address on every NATed node", 90_000, async () => {
    const infos = await Promise.all(nated.map((n) => n.peers()));
    return infos.every((p) => (p?.nat.relayAddresses.length ?? 0) > 0) ? infos : undefined;
  });
  const relayAfter = relayed.map((p) => p?.nat.relayReachableAfterMs ?? -1).sort((a, b) => a - b);
  timings.relayReachableP50Ms = relayAfter[Math.floor(relayAfter.length / 2)] ?? -1;
  timings.relayReachableMaxMs = relayAfter.at(-1) ?? -1;
  await waitCrossNatLinks(nated, 120_000);
  await waitUntil("the all-public group: 4 peers each, past height 40", 120_000, async () => {
    const all = await statuses(directGroup);
    return all.every((s) => (s?.peers ?? 0) >= 4 && s!.height >= 40);
  });
  const fromA = (await tb.node("n11").status())?.height ?? 0;
  const fromD = (await tb.node("pub4").status())?.height ?? 0;
  const k = tb.measuredBlocks;
  timings.measureFromMs = tb.elapsed();
  const before = usageByNode(tb.nodes);
  await waitUntil(`${k} blocks mined in both networks`, 3_000 * k, async () => {
    const [a, d] = await statuses([tb.node("n11"), tb.node("pub4")]);
    return (a?.height ?? 0) >= fromA + k && (d?.height ?? 0) >= fromD + k;
  });
  await waitUntil("both miners' tip agents to see their last measured block", 30_000, async () => {
    return tb.seenHeight("n11") >= fromA + k && tb.seenHeight("pub4") >= fromD + k;
  });
  timings.measuredMs = tb.elapsed();
  // where the machine's CPU went while the blocks were measured: who is busy, not only who is late
  const { cpuSeconds, writeSyscalls } = usageSince(before, usageByNode(tb.nodes));
  await Promise.all([tb.restart("n11", false), tb.restart("pub4", false)]);
  const [tipA, tipD] = await Promise.all([
    converged(natGroup, 90_000, "the NAT network on one tip"),
    converged(directGroup, 90_000, "the all-public network on one tip"),
  ]);
  // two networks: no connection across (else the figures would mix)
  const idsA = new Set(natGroup.map((n) => n.peerId));
  const infos = await Promise.all(tb.nodes.map((n) => n.peers()));
  const crossing = tb.nodes.filter((n, i) =>
    (infos[i]?.connected ?? []).some((p) => idsA.has(p) !== idsA.has(n.peerId)),
  );
  if (crossing.length > 0)
    failures.push(`connected across the two networks: ${crossing.map((n) => n.host.name)}`);
  if (tipA.tip === tipD.tip) failures.push("the two networks share a tip");
  const others = (g: readonly TestbedNode[], miner: string) => g.filter((n) => n.host.name !== miner);
  const pa = await measurePropagation(tb, "n11", fromA, fromA + k, {
    all: others(natGroup, "n11"),
    nated: others(nated, "n11"),
  });
  const pd = await measurePropagation(tb, "pub4", fromD, fromD + k, { all: others(directGroup, "pub4") });
  failures.push(...deliveryFailures("nated", pa.nated!), ...deliveryFailures("all-public", pd.all!));
  const bans = infos.reduce((s, p) => s + (p?.bans.length ?? 0), 0);
  if (bans > 0) failures.push(`${bans} bans`);
  return {
    scenario: "pair-nat-and-direct",
    ok: failures.length === 0,
    failures,
    timings,
    details: {
      propagation: { direct: pd.all, natAll: pa.all, nated: pa.nated },
      cpuSecondsWhileMeasured: cpuSeconds,
      writeSyscallsWhileMeasured: writeSyscalls,
      bans,
    },
  };
}

interface NodeUsage {
  cpuSeconds: number;
  writeSyscalls: number;
}

/** CPU seconds and write system calls used so far by each running node process, by host name. */
function usageByNode(nodes: readonly TestbedNode[]): Map<string, NodeUsage> {
  const out = new Map<string, NodeUsage>();
  for (const n of nodes) {
    const cpuSeconds = n.cpuSeconds();
    const writeSyscalls = n.writeSyscalls();
    if (cpuSeconds !== undefined && writeSyscalls !== undefined)
      out.set(n.host.name, { cpuSeconds, writeSyscalls });
  }
  return out;
}

/** What each node used between two `usageByNode` samples. */
function usageSince(
  before: Map<string, NodeUsage>,
  after: Map<string, NodeUsage>,
): { cpuSeconds: Record<string, number>; writeSyscalls: Record<string, number> } {
  const cpuSeconds: Record<string, number> = {};
  const writeSyscalls: Record<string, number> = {};
  for (const [name, used] of after) {
    const from = before.get(name);
    cpuSeconds[name] = +(used.cpuSeconds - (from?.cpuSeconds ?? 0)).toFixed(2);
    writeSyscalls[name] = used.writeSyscalls - (from?.writeSyscalls ?? 0);
  }
  return { cpuSeconds, writeSyscalls };
}

/** The TCP port `observer` sees `node` connect from ("" when not connected). */
async function seenPort(observer: TestbedNode, node: TestbedNode): Promise<string> {
  const row = (await observer.peers())?.peers.find((p) => p.peerId === node.peerId);
  return row?.address.split("/tcp/")[1] ?? "";
}

/**
 * (e) Router 1's NAT maps its hosts to new external ports (a home router reconnecting): their
 * connections to the outside break. Each NATed node behind it keeps its LAN neighbour, logs a
 * relay reservation it saw lost once (with the reason), reconnects from its new port, has a relay
 * address again, and keeps up with the chain.
 */
export async function scenarioE(tb: Testbed): Promise<Summary> {
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  tb.startAll(["pub1"]);
  await waitUntil("every API answering", 90_000, async () => (await statuses(tb.nodes)).every((s) => s));
  const behind = tb.natedNodes.filter((n) => n.host.router === 1);
  await waitUntil("a relay address on every NATed node", 60_000, async () => {
    const infos = await Promise.all(tb.natedNodes.map((n) => n.peers()));
    return infos.every((p) => (p?.nat.relayAddresses.length ?? 0) > 0);
  });
  const observer = tb.node("pub2");
  const before = await waitUntil("pub2 to see router 1's hosts", 60_000, async (note) => {
    const ports = await Promise.all(behind.map((n) => seenPort(observer, n)));
    note(ports);
    return ports.every((p) => p !== "") ? ports : undefined;
  });
  const [n11, n12] = behind as [TestbedNode, TestbedNode];
  // the LAN neighbours find each other through the rendezvous record and connect directly
  const lanSince = await waitUntil("n11 connected to its LAN neighbour n12", 60_000, async () => {
    const row = (await n11.peers())?.peers.find((p) => p.peerId === n12.peerId);
    return row && !row.address.includes("/p2p-circuit") ? row.connectedSinceMs : undefined;
  });
  const rebindAt = Date.now();
  rebindNat(1);
  timings.rebindMs = tb.elapsed();
  // back: seen from new ports, every connection to the outside opened after the rebinding (an
  // old one is noticed dead when next written to, or by the connection monitor's pings), and
  // reachable through a relay again
  const after = await waitUntil(
    "router 1's hosts back from new ports, old connections gone, relay addresses again",
    120_000,
    async (note) => {
      const ports = await Promise.all(behind.map((n) => seenPort(observer, n)));
      const infos = await Promise.all(behind.map((n) => n.peers()));
      const relays = infos.map((p) => p?.nat.relayAddresses.length ?? 0);
      const old = infos.map(
        (p) =>
          p?.peers.filter((r) => !r.address.startsWith("/ip4/192.168.1.") && r.connectedSinceMs < rebindAt)
            .length ?? -1,
      );
      note({ ports, relays, oldOutsideConnections: old });
      const back = ports.every((p, i) => p !== "" && p !== before[i]);
      return back && relays.every((r) => r > 0) && old.every((o) => o === 0) ? ports : undefined;
    },
  ).catch((err: Error) => {
    failures.push(err.message);
    return undefined;
  });
  timings.backMs = Date.now() - rebindAt;
  // the LAN link never went through the NAT: the same connection is still there
  const lanNow = (await n11.peers())?.peers.find((p) => p.peerId === n12.peerId)?.connectedSinceMs;
  // (the oldest open connection: one opened before the rebinding and still open; a second
  // connection from a simultaneous dial may show up with a slightly different time)
  if (lanNow === undefined || lanNow >= rebindAt)
    failures.push(`n11 lost its LAN neighbour n12 (connected since ${lanSince}, now ${lanNow})`);
  await tb.restart("pub1", false);
  const tip = await converged(tb.nodes, 90_000, "all nodes on one tip after the rebinding").catch(
    (err: Error) => {
      failures.push(err.message);
      return undefined;
    },
  );
  const bans = (await Promise.all(tb.nodes.map((n) => n.peers()))).reduce(
    (s, p) => s + (p?.bans.length ?? 0),
    0,
  );
  if (bans > 0) failures.push(`${bans} bans`);
  // the logs are complete once the nodes have stopped (the log file is written asynchronously)
  await Promise.all(tb.nodes.map((n) => n.stop()));
  const lost = behind.map((n) => {
    const lines = n.logLines("relay reservation lost");
    const relays = lines.flatMap((l) => (l.relays as string[] | undefined) ?? []);
    // said once per loss, not per redial. Every outside connection broke, the relay's too, but
    // the loss is not always visible: libp2p may renew the reservation on a new connection to the
    // same relay before our relay address goes (seen: 0 warnings), and a renewal that lands on a
    // connection not yet known dead is lost once more (seen: 2)
    if (lines.length > 3) failures.push(`${n.host.name} logged ${lines.length} lost reservations`);
    return { node: n.host.name, warnings: lines.length, relays, reason: lines[0]?.msg };
  });
  return {
    scenario: "e-nat-rebind",
    ok: failures.length === 0,
    failures,
    timings,
    details: { portsBefore: before, portsAfter: after, lost, height: tip?.height, bans },
  };
}

export const SCENARIOS = {
  a: { topology: [3, 3, 3] as const, run: scenarioA },
  b: { topology: [3, 3, 3] as const, run: scenarioB },
  c: { topology: [2, 2, 2] as const, run: scenarioC },
  d: { topology: [2, 2, 2] as const, run: scenarioD },
  e: { topology: [2, 2, 2] as const, run: scenarioE },
  direct: { topology: [12, 0, 0] as const, run: scenarioDirect },
  pair: { topology: [15, 3, 3] as const, run: scenarioPair },
};
