import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockSubsidy, getNetworkParams } from "../../src/consensus/params.js";
import { ProcessNode, QUARRY_BIN, restGet, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A whole node as a real process (`quarry start` on regtest, real LevelDB, real HTTP on
 * 127.0.0.1), driven only through the CLI and the HTTP API, as an operator would.
 */

const REGTEST = getNetworkParams("regtest");
const PW = { env: { QUARRY_PASSWORD: "node-process-pw" } };
const AMOUNT = 1000n;
const FEE = 10n;

interface Status {
  height: number;
  tip: string;
  peers: number;
  syncing: boolean;
  network: string;
  peerId: string;
}

describe("quarry start as a process (regtest)", () => {
  let tmp: { path: string; cleanup: () => void };
  let datadir: string;
  let at: string[];
  let node: ProcessNode | undefined;
  let miner: { address: string };
  let bob: { address: string };
  let txId = "";
  let heightAtStop = 0;

  beforeAll(async () => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
    tmp = tempDir("quarry-node-process-");
    datadir = join(tmp.path, "node");
    at = ["--network", "regtest", "--datadir", datadir];
    const [m, b] = await Promise.all(
      ["miner", "bob"].map((name) =>
        runQuarry(["keys", "new", "--light", "--name", name, "--json", ...at], PW),
      ),
    );
    expect(m?.code, m?.stderr).toBe(0);
    expect(b?.code, b?.stderr).toBe(0);
    miner = JSON.parse(m?.stdout ?? "") as { address: string };
    bob = JSON.parse(b?.stdout ?? "") as { address: string };
  });

  afterAll(async () => {
    await node?.stop();
    tmp?.cleanup();
  });

  it("starts, writes api.json and the cookie, and mines", async () => {
    const t0 = performance.now();
    node = await ProcessNode.start({ datadir, minerKey: "miner" });
    const startedMs = performance.now() - t0;
    expect(node.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(node.token).toMatch(/^[0-9a-f]{64}$/);
    const url = node.apiUrl;
    await waitFor(async () => (await restGet<Status>(url, "getStatus")).height >= 5, 15_000, "height 5");
    // for the report: process spawn to "node started", including Node's own start-up
    console.log(`node process ready in ${startedMs.toFixed(0)} ms`);
  });

  it("quarry tx send prints a tx id; the tx is confirmed in a block that quarry block shows", async () => {
    const sent = await runQuarry(
      [
        "tx",
        "send",
        "--from",
        "miner",
        "--to",
        bob.address,
        "--amount",
        `${AMOUNT}`,
        "--fee",
        `${FEE}`,
        ...at,
      ],
      PW,
    );
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    txId = sent.stdout.trim();
    expect(txId).toMatch(/^[0-9a-f]{64}$/);

    const url = node!.apiUrl;
    const confirmed = await waitFor(
      async () => {
        const tx = await restGet<{ status: string; height?: number }>(url, "getTransaction", { id: txId });
        return tx.status === "confirmed" ? tx : undefined;
      },
      15_000,
      "the transfer to be confirmed",
    );
    expect(confirmed).toMatchObject({ amount: `${AMOUNT}`, fee: `${FEE}`, recipient: bob.address });
    const height = confirmed.height!;
    const block = await runQuarry(["block", String(height), "--json", ...at]);
    expect(block.code).toBe(0);
    const shown = JSON.parse(block.stdout) as { height: number; mainChain: boolean; txs: { id: string }[] };
    expect(shown.height).toBe(height);
    expect(shown.mainChain).toBe(true);
    expect(shown.txs.map((t) => t.id)).toContain(txId);
  });

  it("quarry status --json has height, tip, peers, syncing, network, peerId; quarry block tip works", async () => {
    const status = await runQuarry(["status", "--json", ...at]);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as Status;
    expect(s.network).toBe("regtest");
    expect(s.height).toBeGreaterThan(0);
    expect(s.tip).toMatch(/^[0-9a-f]{64}$/);
    expect(s.peers).toBe(0);
    expect(s.syncing).toBe(false);
    expect(s.peerId).toMatch(/^12D3KooW/);
    const tip = await runQuarry(["block", "tip", "--json", ...at]);
    expect(tip.code).toBe(0);
    expect((JSON.parse(tip.stdout) as { height: number }).height).toBeGreaterThanOrEqual(s.height);
  });

  it("the API refuses a write without the token (401) and an oversized body (413)", async () => {
    const url = node!.apiUrl;
    const stop = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "stop", params: {} });
    const json = { "content-type": "application/json" };
    const denied = await fetch(`${url}/rpc`, { method: "POST", headers: json, body: stop });
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const wrong = await fetch(`${url}/rpc`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${"0".repeat(64)}` },
      body: stop,
    });
    expect(wrong.status).toBe(401);
    const huge = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "sendRawTransaction",
      params: { hex: "00".repeat(1024 * 1024) },
    });
    const tooBig = await fetch(`${url}/rpc`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${node!.token}` },
      body: huge,
    });
    expect(tooBig.status).toBe(413);
    // still running, and still mining
    const before = (await restGet<Status>(url, "getStatus")).height;
    await waitFor(
      async () => (await restGet<Status>(url, "getStatus")).height > before,
      15_000,
      "another block",
    );
  });

  it("/metrics exposes the node's metrics in the Prometheus text format", async () => {
    const res = await fetch(`${node!.apiUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const name of [
      "quarry_chain_height",
      "quarry_peers",
      "quarry_gossip_verdicts_total",
      "quarry_sync_blocks_per_second",
      "quarry_block_import_seconds",
      "quarry_reorg_depth_blocks",
      "quarry_mempool_transactions",
      "quarry_mempool_bytes",
      "quarry_miner_hashes_per_second",
      "quarry_blocks_mined_total",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    const height = /^quarry_chain_height\{network="regtest"\} (\d+)$/m.exec(text);
    expect(Number(height?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^quarry_block_import_seconds_count\{[^}]*result="connected"[^}]*\} [1-9]\d*$/m);
    expect(text).toMatch(/^quarry_blocks_mined_total\{network="regtest"\} [1-9]\d*$/m);
  });

  it("SIGTERM: exit code 0; the next start resumes at or above the same height", async () => {
    const first = node!;
    heightAtStop = (await restGet<Status>(first.apiUrl, "getStatus")).height;
    expect(await first.stop()).toBe(0);
    expect(first.logLines().some((l) => l.msg === "stopped")).toBe(true);
    expect(existsSync(join(datadir, "api.json"))).toBe(false);

    // no mining now, so the balances below are final
    node = await ProcessNode.start({ datadir });
    const status = await restGet<Status>(node.apiUrl, "getStatus");
    expect(status.height).toBeGreaterThanOrEqual(heightAtStop);
  });

  it("quarry balance: the recipient has the amount; the miner every coinbase minus amount and fee, plus the fee back", async () => {
    const height = (await restGet<Status>(node!.apiUrl, "getStatus")).height;
    const b = await runQuarry(["balance", bob.address, "--json", ...at]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ balance: `${AMOUNT}`, nonce: "0" });
    let coinbases = 0n;
    for (let h = 1; h <= height; h++) coinbases += blockSubsidy(h, REGTEST);
    const m = await runQuarry(["balance", miner.address, "--json", ...at]);
    expect(m.code).toBe(0);
    // the miner mined the block with its own transfer, so the fee came back in that coinbase
    expect(JSON.parse(m.stdout)).toMatchObject({
      balance: `${coinbases - AMOUNT - FEE + FEE}`,
      nonce: "1",
      pendingNonce: "1",
    });
  });

  it("CLI errors are one line with a non-zero exit; a stopped node is reported as not running", async () => {
    const bad = await runQuarry(["block", "not-a-block", ...at]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);

    const running = node!;
    expect(await running.stop()).toBe(0);
    const down = await runQuarry(["status", ...at]);
    expect(down.code).not.toBe(0);
    expect(down.stdout).toBe("");
    const lines = down.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/no running node/);
    expect(lines[0]).toContain("quarry start");
  });
});
