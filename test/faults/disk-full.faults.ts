import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import { addressHashOf, encodeAddress } from "../../src/primitives/index.js";
import { type ProcessNode, ProcessNodeScope, QUARRY_BIN, runQuarry } from "../helpers/process-node.js";
import { fillDisk, freeDisk, mountTmpfs, type Tmpfs } from "../helpers/tmpfs.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A full disk stops the node's writers truthfully and loses nothing: real `quarry start` processes
 * whose datadir is a small tmpfs, filled while they mine (docs/RELIABILITY.md, "Disk full / write
 * failure").
 */

const REGTEST = getNetworkParams("regtest");
const RECIPIENT = encodeAddress(REGTEST.addressPrefix, addressHashOf(randomBytes(32)));

interface Halt {
  code: string;
  reason: string;
}

type Status = Awaited<ReturnType<ProcessNode["status"]>> & { halted: Halt | null; mining: boolean };

async function status(node: ProcessNode): Promise<Status> {
  return (await node.status()) as Status;
}

function linesWith(node: ProcessNode, msg: string): number {
  return node.logLines().filter((l) => l.msg === msg).length;
}

describe("a full disk halts the node, the API says why, and nothing is lost", () => {
  const scope = new ProcessNodeScope();
  let disk: Tmpfs | undefined;

  beforeAll(() => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  });
  afterEach(async () => {
    try {
      await scope.cleanup();
    } finally {
      disk?.cleanup();
      disk = undefined;
    }
  });

  /** Mines on a tmpfs datadir until `height`; returns the node. */
  async function miningOnTmpfs(args: string[], height: number): Promise<ProcessNode> {
    disk = mountTmpfs(64);
    const node = await scope.start({
      datadir: join(disk.path, "node"),
      minerAddress: RECIPIENT,
      args: ["--disk-check-interval", "1", ...args],
    });
    await waitFor(async () => (await status(node)).height >= height, 30_000, `height ${height}`);
    return node;
  }

  /** After the halt: room again -> resumes by itself and mines on; then a clean stop and verify --full. */
  async function resumesAndVerifies(node: ProcessNode, filler: string, haltedAt: number): Promise<void> {
    freeDisk(filler);
    await waitFor(
      async (note) => {
        const s = await status(node);
        note({ height: s.height, halted: s.halted });
        return s.halted === null && s.height > haltedAt + 5;
      },
      30_000,
      "the node to resume and mine past its halt height",
    );
    expect(((await node.rpc("getMiningInfo")) as { mining: boolean }).mining).toBe(true);
    expect(linesWith(node, "chain resumed")).toBe(1);
    expect(await node.stop()).toBe(0);
    const verify = await runQuarry(["verify", "--full", "--datadir", node.datadir], { timeoutMs: 60_000 });
    expect(verify.code, verify.stderr).toBe(0);
    const info = await runQuarry(["chain", "info", "--json", "--datadir", node.datadir]);
    expect(info.code, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as { height: number }).height).toBeGreaterThan(haltedAt);
  }

  it("STORE_WRITE_FAILED: LevelDB hits ENOSPC while mining -> halted once, mining stops, resumes when space returns", async () => {
    const node = await miningOnTmpfs(["--min-free-space", "0"], 20);
    const filler = fillDisk(disk!.path);
    const halted = await waitFor(
      async () => {
        const s = await status(node);
        return s.halted ? s : undefined;
      },
      30_000,
      "getStatus.halted",
    );
    expect(halted.halted!.code).toBe("STORE_WRITE_FAILED");
    expect(halted.halted!.reason).toMatch(/ENOSPC|No space left/);
    expect(halted.mining).toBe(false);
    expect(((await node.rpc("getMiningInfo")) as { mining: boolean }).mining).toBe(false);
    const metrics = await (await fetch(`${node.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/quarry_chain_halted\{[^}]*code="STORE_WRITE_FAILED"[^}]*\} 1/);
    // the tip stays where the disk stopped it, and the node said so once
    const again = await status(node);
    expect(again.height).toBe(halted.height);
    expect(linesWith(node, "chain halted: no blocks are stored or mined until this is fixed")).toBe(1);
    await resumesAndVerifies(node, filler, halted.height);
  });

  it("STORE_DISK_LOW: under --min-free-space the node halts before LevelDB fails, then resumes", async () => {
    const node = await miningOnTmpfs(["--min-free-space", "24M"], 20);
    const filler = fillDisk(disk!.path, 16 * 1024 * 1024);
    const halted = await waitFor(
      async () => {
        const s = await status(node);
        return s.halted ? s : undefined;
      },
      30_000,
      "getStatus.halted",
    );
    expect(halted.halted!.code).toBe("STORE_DISK_LOW");
    expect(halted.halted!.reason).toMatch(/below --min-free-space 24 MiB/);
    expect(halted.mining).toBe(false);
    expect(node.logs.join("\n")).not.toContain("STORE_WRITE_FAILED");
    await resumesAndVerifies(node, filler, halted.height);
  });

  it("STORE_WRITE_FAILED while syncing: halted once, the serving peer is not charged, sync completes after space returns", async () => {
    const server = await scope.start({
      datadir: join(scope.tempDir("quarry-fault-server-").path, "node"),
      minerAddress: RECIPIENT,
    });
    await waitFor(async () => (await status(server)).height >= 80, 30_000, "the server at height 80");
    disk = mountTmpfs(64);
    const node = await scope.start({
      datadir: join(disk.path, "node"),
      args: ["--disk-check-interval", "1", "--min-free-space", "0"],
    });
    // A few pages free: the sync's first writes fit, the chain of 80+ blocks does not.
    const filler = fillDisk(disk.path, 64 * 1024);
    await node.rpc("connectPeer", { address: server.multiaddr });
    const halted = await waitFor(
      async (note) => {
        const s = await status(node);
        note({ height: s.height, halted: s.halted });
        return s.halted ? s : undefined;
      },
      30_000,
      "getStatus.halted while syncing",
    );
    expect(halted.halted!.code).toBe("STORE_WRITE_FAILED");
    const serverHeight = (await status(server)).height;
    expect(halted.height).toBeLessThan(serverHeight);
    // still halted, still connected to the server, which nobody charged or banned
    const peers = (await node.rpc("getPeers")) as { connected: string[] };
    expect(peers.connected).toContain(server.peerId);
    expect(await node.rpc("getBans")).toEqual([]);
    expect(linesWith(node, "peer misbehaved in sync")).toBe(0);
    expect(linesWith(node, "sync round failed")).toBe(0);
    expect(linesWith(node, "gossip handler failed")).toBe(0);
    expect(linesWith(node, "chain halted: no blocks are stored or mined until this is fixed")).toBe(1);
    expect(linesWith(node, "sync paused: chain halted")).toBeLessThanOrEqual(1);

    freeDisk(filler);
    const target = (await status(server)).height;
    const targetHash = await server.rpc("getBlockHash", { height: target });
    await waitFor(
      async (note) => {
        const s = await status(node);
        note({ height: s.height, halted: s.halted, target });
        if (s.halted !== null || s.height < target) return false;
        return (await node.rpc("getBlockHash", { height: target })) === targetHash;
      },
      30_000,
      "the node to resume and sync to the server's tip",
    );
    expect(linesWith(node, "chain resumed")).toBe(1);
    expect(linesWith(node, "sync round failed")).toBe(0);
    expect(await node.rpc("getBans")).toEqual([]);
    expect(await node.stop()).toBe(0);
    const verify = await runQuarry(["verify", "--full", "--datadir", node.datadir], { timeoutMs: 60_000 });
    expect(verify.code, verify.stderr).toBe(0);
  });
});
