import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { StoreErrorCode } from "../../src/store/index.js";
import type { Logger } from "../../src/util/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { connect } from "../helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = 20_000;
const BLOCKS = 120;

/** Keeps every line (all levels) in memory, for assertions on what was logged and how often. */
class RecordingLogger implements Logger {
  constructor(
    readonly lines: { level: string; msg: string }[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  debug(_obj: object, msg = ""): void {
    this.lines.push({ level: "debug", msg });
  }
  info(_obj: object, msg = ""): void {
    this.lines.push({ level: "info", msg });
  }
  warn(_obj: object, msg = ""): void {
    this.lines.push({ level: "warn", msg });
  }
  error(_obj: object, msg = ""): void {
    this.lines.push({ level: "error", msg });
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }
  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }
}

function tipReached(node: SyncTestNode, hashHex: string) {
  return waitFor(() => node.chain.tip.hashHex === hashHex, TIMEOUT, `tip ${hashHex.slice(0, 12)}`, {
    wakeOn: (check) => {
      node.chain.on("blockConnected", check);
      return () => node.chain.off("blockConnected", check);
    },
  });
}

/** Asks `node` to exchange status with `peer` again and waits until that exchange is answered. */
async function statusExchanged(node: SyncTestNode, peer: SyncTestNode): Promise<void> {
  const heard = new Promise<void>((resolve) => {
    const onStatus = (e: { peerId: string }) => {
      if (e.peerId !== peer.id) return;
      node.sync.off("peerStatus", onStatus);
      resolve();
    };
    node.sync.on("peerStatus", onStatus);
  });
  node.sync.onPeerAnnouncedWork(peer.id);
  await waitFor(() => heard.then(() => true), TIMEOUT, "status exchange");
}

describe("sync while the chain is halted (STORE_DISK_LOW, STORE_HALTED)", () => {
  let builder: ChainBuilder;
  const nodes: SyncTestNode[] = [];

  beforeAll(async () => {
    builder = ChainBuilder.create();
    await builder.mineMany(BLOCKS);
  });

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.destroy()));
  });

  async function pair(): Promise<{ server: SyncTestNode; node: SyncTestNode; log: RecordingLogger }> {
    const server = await createSyncNode(builder.blocks.slice(1));
    const log = new RecordingLogger();
    const node = await createSyncNode([], { maxBlocksPerBatch: 16 }, { log });
    nodes.push(server, node);
    return { server, node, log };
  }

  it("a halted node starts no sync round for a peer with more work, and syncs to its tip on resume", async () => {
    const { server, node, log } = await pair();
    node.chain.halt(StoreErrorCode.DISK_LOW, "free space below --min-free-space");
    await connect(node.libp2p, server.libp2p);
    for (let i = 0; i < 3; i++) await statusExchanged(node, server);
    expect(node.sync.peerStatus(server.id)?.height).toBe(BLOCKS);
    expect(node.chain.height).toBe(0);
    expect(node.sync.progress().syncing).toBe(false);
    expect(log.count("sync round")).toBe(0);
    expect(log.count("sync round failed")).toBe(0);
    expect(node.scorer.reports).toEqual([]);

    const done = tipReached(node, server.chain.tip.hashHex);
    node.chain.on("resumed", () => node.sync.resume());
    expect(await node.chain.resume()).toBe(true);
    await done;
    expect(node.chain.height).toBe(BLOCKS);
    expect(node.scorer.penalties).toEqual([]);
  });

  it("a halt in the middle of a batch pauses sync once, charges the serving peer nothing, and resume completes the sync", async () => {
    const { server, node, log } = await pair();
    const haltAt = 21; // inside the second batch of 16: the next block's write is refused
    const onBlock = () => {
      if (node.chain.height === haltAt) node.chain.halt(StoreErrorCode.DISK_LOW, "free space ran out");
    };
    node.chain.on("blockConnected", onBlock);
    const paused = waitFor(() => log.count("sync paused: chain halted") > 0, TIMEOUT, "sync paused");
    await connect(node.libp2p, server.libp2p);
    await paused;
    node.chain.off("blockConnected", onBlock);
    for (let i = 0; i < 3; i++) await statusExchanged(node, server);
    expect(node.chain.height).toBe(haltAt);
    expect(node.sync.progress().syncing).toBe(false);
    expect(log.count("sync paused: chain halted")).toBe(1);
    expect(log.count("sync round failed")).toBe(0);
    expect(log.count("sync complete")).toBe(0);
    expect(node.scorer.reports).toEqual([]);

    const done = tipReached(node, server.chain.tip.hashHex);
    node.chain.on("resumed", () => node.sync.resume());
    expect(await node.chain.resume()).toBe(true);
    await done;
    expect(node.chain.height).toBe(BLOCKS);
    expect(node.scorer.penalties).toEqual([]);
    expect(log.count("sync round failed")).toBe(0);
  });
});
