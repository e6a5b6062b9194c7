import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import { addressHashOf, encodeAddress } from "../../src/primitives/index.js";
import {
  mineOffline,
  ProcessNode,
  QUARRY_BIN,
  quarryOk,
  restGet,
  runQuarry,
} from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Operator control of peers on real `quarry start` processes: the peer table over REST and the
 * CLI, libp2p's own metrics in /metrics, the token and typed parameter errors of the state-changing
 * methods, and `quarry peers ban|unban|connect|disconnect` / `quarry bans` with a ban that survives
 * a restart.
 */

const REGTEST = getNetworkParams("regtest");
const MINER = encodeAddress(REGTEST.addressPrefix, addressHashOf(randomBytes(32)));

interface PeerRow {
  peerId: string;
  address: string;
  direction: string;
  connectedSinceMs: number;
  height: number | null;
  chainWork: string | null;
  score: number;
  bytesIn: number;
  bytesOut: number;
  protocols: string[];
}

/** Posts one JSON-RPC request; returns the HTTP status and the parsed body. */
async function rawRpc(node: ProcessNode, body: unknown, token: string | undefined = node.token) {
  const res = await fetch(`${node.apiUrl}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: number; message: string } } };
}

/** The value of the first sample of `name` whose labels contain `labelPart`. */
function sample(metrics: string, name: string, labelPart: string): number | undefined {
  for (const line of metrics.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(labelPart)) return Number(line.split(" ").at(-1));
  }
  return undefined;
}

describe("operator control of peers on a running node", () => {
  const tmp = tempDir("quarry-cli-peers-");
  const dirA = join(tmp.path, "a");
  const dirB = join(tmp.path, "b");
  let a: ProcessNode;
  let b: ProcessNode;
  const cli = (args: string[]) => runQuarry([...args, "--datadir", dirA]);
  const peersOfA = async () => (await restGet<{ peers: PeerRow[] }>(a.apiUrl, "getPeers")).peers;

  beforeAll(async () => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
    await quarryOk(["init", "--network", "regtest", "--datadir", dirA]);
    await mineOffline(dirA, 3, MINER);
    a = await ProcessNode.start({ datadir: dirA });
    b = await ProcessNode.start({ datadir: dirB, bootstrap: [a.multiaddr] });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    tmp.cleanup();
  });

  it("getPeers (REST) reports the peer's address, direction, since, height and work from the status exchange, score, bytes", async () => {
    const row = await waitFor(
      async () => (await peersOfA()).find((p) => p.peerId === b.peerId && p.height === 3),
      15_000,
      "B synced and its status at height 3 known to A",
    );
    expect(row.direction).toBe("inbound");
    expect(row.address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    expect(row.connectedSinceMs).toBeLessThanOrEqual(Date.now());
    expect(BigInt(row.chainWork!)).toBeGreaterThan(0n);
    expect(row.score).toBe(0);
    expect(row.bytesIn).toBeGreaterThan(0);
    expect(row.bytesOut).toBeGreaterThan(0);
    expect(row.protocols.some((p) => p.startsWith("/quarry/regtest/"))).toBe(true);
    const text = await cli(["peers"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(b.peerId);
    expect(text.stdout).toContain("height 3");
  });

  it("/metrics carries libp2p's connection, stream and byte metrics beside quarry's", async () => {
    const body = await (await fetch(`${a.apiUrl}/metrics`)).text();
    expect(sample(body, "quarry_peers", "")).toBeGreaterThanOrEqual(1);
    expect(sample(body, "libp2p_connection_manager_connections", '"inbound"')).toBeGreaterThanOrEqual(1);
    expect(sample(body, "libp2p_protocol_streams_total", "")).toBeGreaterThanOrEqual(1);
    expect(sample(body, "libp2p_data_transfer_bytes_total", '"global received"')).toBeGreaterThan(0);
    expect(sample(body, "libp2p_data_transfer_bytes_total", '"global sent"')).toBeGreaterThan(0);
    // every series carries the node's network label, libp2p's too
    expect(body).toMatch(/libp2p_connection_manager_connections\{[^}]*network="regtest"/);
    // one HELP line per name: no metric registered twice
    const helps = body.split("\n").filter((l) => l.startsWith("# HELP "));
    const names = new Set(helps.map((l) => l.split(" ")[2]));
    expect(names.size).toBe(helps.length);
    // every series the Grafana dashboard queries is one this node exports
    const dashboard = readFileSync(join("monitoring", "grafana", "quarry-dashboard.json"), "utf8");
    const queried = new Set(
      [...dashboard.matchAll(/\b((?:quarry|libp2p|nodejs|process)_[a-z0-9_]+)/g)].map((m) =>
        m[1]!.replace(/_(bucket|count|sum)$/, ""),
      ),
    );
    expect([...queried].filter((name) => !names.has(name))).toEqual([]);
  });

  it("banPeer without the token is UNAUTHORIZED (-32001); bad params are INVALID_PARAMS (-32602) naming the field", async () => {
    const call = (params: unknown, token?: string) =>
      rawRpc(a, { jsonrpc: "2.0", id: 1, method: "banPeer", params }, token);
    const noToken = await rawRpc(a, { jsonrpc: "2.0", id: 1, method: "banPeer", params: [b.peerId] }, "");
    expect(noToken.status).toBe(401);
    expect(noToken.body.error?.code).toBe(-32001);
    const cases: [unknown, string][] = [
      [{ target: "nonsense" }, "'target'"],
      [{}, "'target'"],
      [[b.peerId, 0], "'seconds'"],
      [{ target: b.peerId, seconds: "soon" }, "'seconds'"],
      [{ target: b.peerId, reason: "x".repeat(201) }, "'reason'"],
      [{ target: a.peerId }, "'target'"],
    ];
    for (const [params, field] of cases) {
      const r = await call(params, a.token);
      expect(r.body.error?.code, JSON.stringify(params)).toBe(-32602);
      expect(r.body.error?.message).toContain(field);
    }
    const badAddr = await rawRpc(a, { jsonrpc: "2.0", id: 2, method: "connectPeer", params: ["/ip4/1.2.3"] });
    expect(badAddr.body.error?.code).toBe(-32602);
    expect(badAddr.body.error?.message).toContain("'address'");
    // nothing was banned by any of them
    expect(await restGet<unknown[]>(a.apiUrl, "getBans")).toEqual([]);
  });

  it("CLI mistakes are one line and a non-zero exit", async () => {
    const stranger = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    for (const args of [
      ["peers", "ban"],
      ["peers", "ban", b.peerId, "--seconds", "-5"],
      ["peers", "ban", "not-a-peer"],
      ["peers", "frobnicate"],
      ["peers", "unban", b.peerId],
      ["peers", "disconnect", stranger],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    expect((await cli(["peers", "ban", "not-a-peer"])).stderr).toContain("[PEER_BAD_TARGET]");
    expect((await cli(["peers", "unban", b.peerId])).stderr).toContain("[PEER_NOT_BANNED]");
    expect((await cli(["peers", "disconnect", stranger])).stderr).toContain("[PEER_NOT_CONNECTED]");
  });

  it("peers ban disconnects and lists the ban; it survives a restart; unban and connect bring the peer back; disconnect drops it", async () => {
    const banned = await cli(["peers", "ban", b.peerId, "--seconds", "3600", "--reason", "operator test"]);
    expect(banned.stderr).toBe("");
    expect(banned.stdout).toContain(`banned peer ${b.peerId} until `);
    await waitFor(
      async () => !(await peersOfA()).some((p) => p.peerId === b.peerId),
      10_000,
      "B disconnected",
    );
    const bans = await cli(["bans"]);
    expect(bans.stdout).toMatch(new RegExp(`${b.peerId}\\s+OPERATOR_BAN\\s+since .* until .*operator test`));

    await a.stop();
    a = await ProcessNode.start({ datadir: dirA });
    const after = JSON.parse((await cli(["bans", "--json"])).stdout) as { target: string; reason: string }[];
    expect(after).toMatchObject([{ target: b.peerId, reason: "operator test" }]);
    const refused = await cli(["peers", "connect", b.multiaddr]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("[PEER_BANNED]");

    expect((await cli(["peers", "unban", b.peerId])).stdout).toContain(`unbanned peer ${b.peerId}`);
    const connected = await cli(["peers", "connect", b.multiaddr]);
    expect(connected.stderr).toBe("");
    expect(connected.stdout).toContain(`connected to ${b.peerId}`);
    expect((await peersOfA()).some((p) => p.peerId === b.peerId)).toBe(true);

    const dropped = await cli(["peers", "disconnect", b.peerId]);
    expect(dropped.stderr).toBe("");
    expect(dropped.stdout).toContain(`disconnected ${b.peerId}`);
  });
});
