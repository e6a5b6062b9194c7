import { multiaddr } from "@multiformats/multiaddr";
import type { EventHubOptions } from "../../src/api/index.js";
import { createNode, type QuarryNode } from "../../src/node.js";
import {
  DEFAULT_DISK_CHECK_INTERVAL,
  DEFAULT_LOG_KEEP,
  DEFAULT_LOG_MAX_SIZE,
  DEFAULT_MIN_FREE_SPACE,
  type NodeOptions,
} from "../../src/options.js";
import type { Block } from "../../src/primitives/block.js";
import { blockEnvelope } from "../../src/primitives/block.js";
import type { SyncOptions } from "../../src/sync/index.js";
import { silentLogger } from "../../src/util/logger.js";
import { testAddress } from "./chain-builder.js";
import { tempDir } from "./temp-dir.js";
import { waitFor } from "./wait.js";

/** What a cluster node may differ in; everything else is a small regtest node on 127.0.0.1. */
export interface ClusterNodeInit {
  /** multiaddrs (with /p2p/) this node dials first */
  bootstrap?: string[];
  /** mine with one worker thread, paying the coinbase to `testKey(minerKey).address` */
  minerKey?: number;
  /**
   * false: the miner's producer stays idle until `producer.start()` (or `mineBlocks`); default
   * true, mining from `start()` on. A test that builds its chain out of band wants it idle: a
   * producer stopped only after `add` resolves has already mined an unknown number of blocks
   * (ten or more on a busy machine, enough to outweigh a fed prefix of ten).
   */
  startProducer?: boolean;
  minPeers?: number;
  maxPeers?: number;
  /** sync tunables (shorter deadlines and backoffs) */
  sync?: Partial<SyncOptions>;
  /** event stream bounds (GET /events) */
  events?: Partial<EventHubOptions>;
}

/** Node options for a regtest node on 127.0.0.1 with random ports and its own temp datadir. */
export function clusterNodeOptions(datadir: string, init: ClusterNodeInit = {}): NodeOptions {
  const mine = init.minerKey !== undefined;
  return {
    network: "regtest",
    datadir,
    p2pHost: "127.0.0.1",
    p2pPort: 0,
    announce: [],
    bootstrap: init.bootstrap ?? [],
    reachability: "local",
    nat: "none",
    apiHost: "127.0.0.1",
    apiPort: 0,
    apiVhosts: [],
    mine,
    minerAddress: mine ? testAddress(init.minerKey ?? 0) : undefined,
    minerKey: undefined,
    threads: 1,
    minPeers: init.minPeers ?? 3,
    maxPeers: init.maxPeers ?? 8,
    logLevel: "silent",
    logFile: undefined,
    logMaxSize: DEFAULT_LOG_MAX_SIZE,
    logKeep: DEFAULT_LOG_KEEP,
    minFreeSpace: DEFAULT_MIN_FREE_SPACE,
    diskCheckInterval: DEFAULT_DISK_CHECK_INTERVAL,
    addressIndex: true,
  };
}

/**
 * Real Quarry nodes built by the composition root (`createNode`), each with its own LevelDB
 * stores in a temp dir, all in this process. `stopAll` stops every node (in parallel) and removes
 * the directories.
 */
export class Cluster {
  readonly nodes: QuarryNode[] = [];
  private readonly dir = tempDir("quarry-multinode-");
  private count = 0;

  /** Creates and starts one node. A miner starts mining at once unless `startProducer` is false. */
  async add(init: ClusterNodeInit = {}): Promise<QuarryNode> {
    const node = await createNode(clusterNodeOptions(`${this.dir.path}/n${this.count++}`, init), {
      log: silentLogger,
      ...(init.sync ? { syncOptions: init.sync } : {}),
      ...(init.events ? { eventOptions: init.events } : {}),
      ...(init.startProducer === undefined ? {} : { startProducer: init.startProducer }),
    });
    this.nodes.push(node);
    await node.start();
    return node;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    this.dir.cleanup();
  }
}

/** The node's first listen address, ending in /p2p/<id>: what others bootstrap from. */
export function addressOf(node: QuarryNode): string {
  const addr = node.host.multiaddrs()[0];
  if (!addr) throw new Error("node has no listen address (not started?)");
  return addr;
}

/** Dials `to` from `from` (a test operator adding a peer by hand). */
export async function dialNode(from: QuarryNode, to: QuarryNode): Promise<void> {
  await from.host.libp2p.dial(multiaddr(addressOf(to)));
}

/** Imports `blocks` into the node's chain directly (as if it had mined or synced them before). */
export async function feedBlocks(node: QuarryNode, blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) await node.chain.processBlock(blockEnvelope(block));
}

/** True when every node's tip is the same block. */
export function sameTip(nodes: readonly QuarryNode[]): boolean {
  const tip = nodes[0]?.chain.tip.hashHex;
  return nodes.every((n) => n.chain.tip.hashHex === tip);
}

/**
 * Lets the node's producer mine until it has mined `blocks` more blocks, then stops it. Resolves
 * with how many it mined (a block found while stopping may add one). Bounded by `timeoutMs`.
 */
export async function mineBlocks(node: QuarryNode, blocks: number, timeoutMs: number): Promise<number> {
  const producer = node.producer;
  if (!producer) throw new Error("node is not a miner");
  const before = producer.blocksMined;
  producer.start();
  try {
    await waitFor(() => producer.blocksMined - before >= blocks, timeoutMs, `${blocks} mined blocks`, {
      intervalMs: 5,
    });
  } finally {
    await producer.stop();
  }
  return producer.blocksMined - before;
}

/** Resolves when every node has the same tip, polling; rejects after `timeoutMs`. */
export async function waitForSameTip(
  nodes: readonly QuarryNode[],
  timeoutMs: number,
  what = "same tip",
): Promise<void> {
  await waitFor(() => sameTip(nodes), timeoutMs, what);
}
