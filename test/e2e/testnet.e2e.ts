import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { waitFor } from "../helpers/wait.js";
import {
  api,
  type BlockView,
  freePort,
  type NodeStatus,
  type ReorgReport,
  ROOT,
  run,
  since,
  status,
  work,
} from "./testnet-harness.js";

/**
 * The docker-compose devnet, for real: on a machine with no Docker engine and no images it installs
 * the engine (scripts/ensure-docker.sh), builds the stand-in base image when node:24-bookworm-slim
 * is absent, builds the project image, then runs boot + 3 miners through scripts/testnet and checks
 * what users rely on: the nodes find each other and agree; a partitioned miner forks off and is
 * reorganised onto the most-work chain when the partition heals (and reports it); a miner killed
 * with SIGKILL resumes from its volume (the store passes `quarry verify --full`) and catches up; a
 * node on the host joins through the published boot port. Everything is torn down (down -v) even
 * when a step fails. Its own compose project and host ports, so a user's testnet is untouched.
 */

const PROJECT = "quarry-e2e";
const PORTS = { bootP2p: 27440, boot: 27441, miner1: 27442, miner2: 27443, miner3: 27444 };
const SCALE_PORTS = "27450-27459";
const NODES = ["boot", "miner1", "miner2", "miner3"] as const;
type NodeName = (typeof NODES)[number];

const ENV: NodeJS.ProcessEnv = {
  TESTNET_PROJECT: PROJECT,
  TESTNET_BOOT_P2P_PORT: String(PORTS.bootP2p),
  TESTNET_BOOT_API_PORT: String(PORTS.boot),
  TESTNET_MINER1_API_PORT: String(PORTS.miner1),
  TESTNET_MINER2_API_PORT: String(PORTS.miner2),
  TESTNET_MINER3_API_PORT: String(PORTS.miner3),
  TESTNET_SCALE_API_PORTS: SCALE_PORTS,
  // `npm run test:testnet` builds first; the image is built from that dist/
  TESTNET_SKIP_NPM_BUILD: "1",
  COMPOSE_DOCKER_CLI_BUILD: "0",
};

const testnet = (args: string[], timeoutMs = 120_000) =>
  run(join(ROOT, "scripts", "testnet"), args, { env: ENV, timeoutMs });

async function statuses(names: readonly NodeName[] = NODES): Promise<(NodeStatus | undefined)[]> {
  return Promise.all(names.map((n) => status(PORTS[n])));
}

const brief = (s: (NodeStatus | undefined)[]) =>
  s.map((x) => (x ? { h: x.height, tip: x.tip.slice(0, 12), peers: x.peers } : "down"));

/** All named nodes answer, have at least `minPeers` peers and report one tip (at least `minHeight`). */
function agreed(names: readonly NodeName[], minPeers: number, minHeight = 1) {
  return async (note: (seen: unknown) => void) => {
    const s = await statuses(names);
    const ok =
      s.every((x) => x !== undefined && x.peers >= minPeers && x.height >= minHeight) &&
      new Set(s.map((x) => x?.tip)).size === 1;
    note(brief(s));
    return ok ? (s as NodeStatus[]) : undefined;
  };
}

async function containerState(service: NodeName): Promise<string> {
  const { stdout } = await testnet(["status"]);
  const row = stdout.split("\n").find((l) => l.startsWith(`${service} `));
  return row?.trim().split(/\s+/).at(-1) ?? "absent";
}

let failed = false;
const timings: string[] = [];
let hostNode: ChildProcess | undefined;
let hostDir: string | undefined;

describe("docker-compose testnet", () => {
  beforeAll(async () => {
    const t0 = Date.now();
    await run(join(ROOT, "scripts", "ensure-docker.sh"), [], { timeoutMs: 240_000 });
    timings.push(`docker engine ready ${since(t0)} s`);
    // leftovers of an interrupted earlier run
    await testnet(["down"]).catch(() => undefined);
    const t1 = Date.now();
    await testnet(["build"], 480_000);
    timings.push(`images built ${since(t1)} s`);
    const t2 = Date.now();
    // images were just built: `up` without building again
    await run(join(ROOT, "scripts", "testnet"), ["up", "3"], {
      env: { ...ENV, TESTNET_SKIP_BUILD: "1" },
      timeoutMs: 180_000,
    }).catch((err: unknown) => {
      failed = true;
      throw err;
    });
    timings.push(`compose up ${since(t2)} s`);
  }, 600_000);

  afterAll(async () => {
    if (hostNode && hostNode.exitCode === null) hostNode.kill("SIGKILL");
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
    if (failed) {
      const st = await testnet(["status"]).catch((e: unknown) => ({ stdout: String(e) }));
      const logs = await testnet(["logs", "--tail=30"]).catch((e: unknown) => ({ stdout: String(e) }));
      console.log(`testnet at failure:\n${st.stdout}\n${logs.stdout}`);
    }
    const t = Date.now();
    await testnet(["down"], 180_000);
    timings.push(`down -v ${since(t)} s`);
    console.log(`testnet e2e timings: ${timings.join("; ")}`);
  }, 240_000);

  it("boot and three miners connect to each other and agree on one tip", async () => {
    onTestFailed(() => {
      failed = true;
    });
    const t = Date.now();
    // a full mesh of four nodes: everyone sees the three others
    const s = await waitFor(agreed(NODES, 3, 2), 180_000, "4 nodes, 3 peers each, one tip", {
      intervalMs: 500,
    });
    timings.push(`connected+agreed ${since(t)} s (height ${s[0]!.height})`);
    expect(s.every((x) => x.network === "devnet")).toBe(true);
    expect(s[0]!.mining).toBe(false);
    expect(s.slice(1).every((x) => x.mining)).toBe(true);
  }, 240_000);

  it("a partitioned miner forks off; when healed, the side with less work reorganises onto the most-work chain", async () => {
    onTestFailed(() => {
      failed = true;
    });
    const t = Date.now();
    const reorgsBefore = (await api<ReorgReport[]>(PORTS.miner3, "getReorgs")) ?? [];
    const bootReorgsBefore = (await api<ReorgReport[]>(PORTS.boot, "getReorgs")) ?? [];
    const before = await statuses();
    const forkFloor = Math.min(...before.map((x) => x?.height ?? 0));
    await testnet(["partition", "miner3"]);

    // Both sides mine. Wait until the majority (two miners) has strictly more work than miner3
    // and leads by two blocks, so the outcome after the heal is decided: miner3 must reorganise.
    const [split, lone] = await waitFor(
      async (note) => {
        const [boot, m1, m2, m3] = await statuses();
        const seen = brief([boot, m1, m2, m3]);
        note(seen);
        if (!boot || !m1 || !m2 || !m3) return undefined;
        const best = [boot, m1, m2].reduce((a, b) => (work(b) > work(a) ? b : a));
        const ok =
          m3.height >= forkFloor + 2 &&
          best.height >= m3.height + 2 &&
          work(best) > work(m3) &&
          !(await api<BlockView>(PORTS.boot, "getBlock", { id: m3.tip }))?.mainChain;
        return ok ? ([best, m3] as const) : undefined;
      },
      240_000,
      "both sides to mine, the majority ahead in work",
      { intervalMs: 1000 },
    );
    // the sides really diverged: miner3's tip is unknown to (or off the main chain of) the majority
    expect(split.tip).not.toBe(lone.tip);
    // DNS lookups of the other side's names fail during the partition: nothing crashed
    expect(await containerState("miner3")).toMatch(/^running/);
    timings.push(`partition (majority ${split.height} vs miner3 ${lone.height}) ${since(t)} s`);

    const th = Date.now();
    await testnet(["heal"]);
    const after = await waitFor(agreed(NODES, 1, split.height), 180_000, "all nodes on one tip again", {
      intervalMs: 500,
    });
    // the chain everyone follows has at least the majority's work at the heal: the most-work chain
    expect(work(after[0]!) >= work(split)).toBe(true);
    // Usually the majority (two miners) wins. On devnet's early fast blocks miner3 can still
    // out-mine a two-block lead between that check and the heal; then the majority must be the
    // side that reorganises. Either way exactly one side's tip left the main chain, and that side
    // reports the reorg.
    const loneBlock = await api<BlockView>(PORTS.miner3, "getBlock", { id: lone.tip });
    const splitBlock = await api<BlockView>(PORTS.miner3, "getBlock", { id: split.tip });
    const loneWon = loneBlock?.mainChain === true;
    expect(splitBlock?.mainChain ?? false).toBe(!loneWon);
    const [loserPort, loserBefore] = loneWon ? [PORTS.boot, bootReorgsBefore] : [PORTS.miner3, reorgsBefore];
    const reorgs = (await api<ReorgReport[]>(loserPort, "getReorgs")) ?? [];
    const fresh = reorgs.slice(loserBefore.length);
    const reported = fresh.filter((r) => r.depth >= 1 && r.forkPoint.height >= forkFloor - 3);
    expect(reported, JSON.stringify(fresh.map((r) => [r.depth, r.forkPoint.height]))).not.toHaveLength(0);
    if (loneWon) timings.push("(miner3 out-mined the majority before the heal)");
    timings.push(`heal+converge ${since(th)} s (reorg depth ${reported.at(-1)!.depth})`);
  }, 480_000);

  it("a miner killed with SIGKILL resumes from its volume and catches up", async () => {
    onTestFailed(() => {
      failed = true;
    });
    const t = Date.now();
    const before = await status(PORTS.miner2);
    expect(before).toBeDefined();
    await testnet(["kill", "miner2"]);
    await waitFor(
      async (note) => {
        const state = await containerState("miner2");
        note(state);
        return state.startsWith("exited") ? state : undefined;
      },
      60_000,
      "miner2 to be down",
      { intervalMs: 1000 },
    );
    // crash safety under Docker: the killed node's store replays and matches every state root
    const verify = await run(
      "docker",
      ["run", "--rm", "-v", `${PROJECT}_miner2-data:/data`, "quarry:local", "verify", "--full"],
      { timeoutMs: 120_000 },
    );
    expect(`${verify.stdout}${verify.stderr}`).not.toMatch(/mismatch|corrupt/i);

    await testnet(["start", "miner2"]);
    const first = await waitFor(
      async (note) => {
        const s = await status(PORTS.miner2);
        note(s ? brief([s]) : "down");
        return s;
      },
      90_000,
      "miner2's API after the restart",
      { intervalMs: 250 },
    );
    // same identity and the chain from the volume: it did not start over from genesis
    expect(first.peerId).toBe(before!.peerId);
    expect(first.height).toBeGreaterThanOrEqual(before!.height);
    const s = await waitFor(
      agreed(NODES, 1, before!.height + 1),
      180_000,
      "miner2 to catch up with the others",
      { intervalMs: 500 },
    );
    timings.push(`kill -9 + verify + restart + catch-up ${since(t)} s (height ${s[0]!.height})`);
  }, 420_000);

  it("a node on the host joins through the published boot port and syncs", async () => {
    onTestFailed(() => {
      failed = true;
    });
    const t = Date.now();
    const { stdout } = await testnet(["join"]);
    const bootstrap = /--bootstrap (\S+)/.exec(stdout)?.[1];
    expect(bootstrap).toBe(
      `/ip4/127.0.0.1/tcp/${PORTS.bootP2p}/p2p/12D3KooWLkiUHmZptXAYD9esx8aX3meb9QUYdjhJhNBfAkr8wxKe`,
    );
    hostDir = mkdtempSync(join(tmpdir(), "quarry-e2e-join-"));
    const [p2pPort, apiPort] = [await freePort(), await freePort()];
    // what `scripts/testnet join` prints, on free ports and a temporary datadir
    hostNode = spawn(
      process.execPath,
      [
        join(ROOT, "dist", "src", "cli", "bin.js"),
        "start",
        "--network",
        "devnet",
        "--datadir",
        hostDir,
        "--p2p-host",
        "127.0.0.1",
        "--p2p-port",
        String(p2pPort),
        "--api-port",
        String(apiPort),
        "--bootstrap",
        bootstrap!,
        "--log-level",
        "warn",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const target = (await status(PORTS.boot))!.height;
    await waitFor(
      async (note) => {
        const [host, boot] = await Promise.all([status(apiPort), status(PORTS.boot)]);
        const ok = host && boot && host.height >= target && host.tip === boot.tip;
        note(brief([host, boot]));
        return ok ? host : undefined;
      },
      180_000,
      "the host node to sync to the testnet's tip",
      { intervalMs: 500 },
    );
    timings.push(`host join+sync to ${target}+ ${since(t)} s`);
    const exited = new Promise<number | null>((r) => hostNode!.once("exit", (code) => r(code)));
    hostNode.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 300_000);

  it("a scaled miner started while boot is down retries its bootstrap and joins later", async () => {
    onTestFailed(() => {
      failed = true;
    });
    const t = Date.now();
    await testnet(["compose", "stop", "boot"]);
    // a fresh replica of the scalable `miner` service: it knows only the bootstrap address
    await testnet(["compose", "--profile", "scale", "up", "-d", "--no-deps", "--scale", "miner=1", "miner"]);
    const { stdout } = await testnet(["compose", "port", "--index=1", "miner", "7331"]);
    const port = Number(/:(\d+)\s*$/.exec(stdout.trim())?.[1]);
    expect(port).toBeGreaterThan(0);
    const alone = await waitFor(
      async (note) => {
        const s = await status(port);
        note(s ? brief([s]) : "down");
        return s;
      },
      90_000,
      "the new miner's API (boot still down)",
      { intervalMs: 250 },
    );
    expect(alone.peers).toBe(0);
    await testnet(["compose", "start", "boot"]);
    const s = await waitFor(
      async (note) => {
        const [scaled, ...named] = await Promise.all([status(port), ...NODES.map((n) => status(PORTS[n]))]);
        const all = [...named, scaled];
        const ok =
          all.every((x) => x !== undefined && x.peers >= 1 && x.height > 0) &&
          new Set(all.map((x) => x?.tip)).size === 1;
        note(brief(all));
        return ok ? scaled : undefined;
      },
      240_000,
      "the new miner to join through boot and agree with everyone",
      { intervalMs: 500 },
    );
    // boot kept its fixed identity across the restart (from its volume)
    expect((await status(PORTS.boot))?.peerId).toBe("12D3KooWLkiUHmZptXAYD9esx8aX3meb9QUYdjhJhNBfAkr8wxKe");
    timings.push(`late bootstrap: scaled miner joined at height ${s!.height} ${since(t)} s`);
  }, 360_000);
});
