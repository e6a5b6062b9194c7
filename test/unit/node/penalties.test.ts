import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../../src/consensus/errors.js";
import { NetworkErrorCode } from "../../../src/network/index.js";
import { isPenaltyCode, PENALTIES, penaltyFor } from "../../../src/node/penalties.js";
import { SyncErrorCode } from "../../../src/sync/errors.js";

const SRC = join(import.meta.dirname, "../../../src");

/**
 * `*ErrorCode` enums whose codes no peer's traffic can raise: local files, local stores, the
 * operator's own input. Every other such enum in src/ must be covered by `PENALTIES`.
 */
const LOCAL_ONLY = new Map<string, string>([
  ["AddressErrorCode", "addresses come from the operator (CLI, API), never from a peer"],
  ["KeystoreErrorCode", "the local key files and passwords"],
  ["MinerErrorCode", "our own worker threads"],
  ["PackageErrorCode", "block packages are local files the operator imports"],
  ["PeerDbErrorCode", "our own peer database"],
  ["SignatureVerifierErrorCode", "our own verification workers (a bad signature is TX_BAD_SIGNATURE)"],
  ["StateTreeErrorCode", "our own state store"],
  ["StoreErrorCode", "our own chain store"],
  ["DatadirErrorCode", "our own datadir and its marker file"],
  ["MaintenanceErrorCode", "backup, restore and reindex of our own datadir"],
  ["PeerControlErrorCode", "the operator's peer commands (ban, unban, connect, disconnect)"],
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every exported `*ErrorCode` enum in src/, found in the source text and loaded from its module. */
async function errorCodeEnums(): Promise<{ name: string; file: string; codes: string[] }[]> {
  const found: { name: string; file: string; codes: string[] }[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, "utf8").matchAll(/export enum (\w+ErrorCode)\b/g)) {
      const name = m[1]!;
      const mod = (await import(pathToFileURL(file).href)) as Record<string, Record<string, string>>;
      found.push({ name, file: relative(SRC, file), codes: Object.values(mod[name] ?? {}) });
    }
  }
  return found;
}

describe("PENALTIES: the one penalty table", () => {
  it("every error code a peer can cause has a deliberate entry (enums found in src/, not listed by hand)", async () => {
    const enums = await errorCodeEnums();
    // the scan works: it finds the enums we know of
    expect(enums.map((e) => e.name)).toEqual(
      expect.arrayContaining(["BlockErrorCode", "SyncErrorCode", "MempoolErrorCode", "NetworkErrorCode"]),
    );
    const peerCaused = enums.filter((e) => !LOCAL_ONLY.has(e.name));
    const missing = peerCaused.flatMap((e) =>
      e.codes.filter((c) => !isPenaltyCode(c)).map((c) => `${e.name}.${c}`),
    );
    expect(missing).toEqual([]);
    // every table key is a real code of a peer-caused enum (no stale entries)
    const known = new Set(peerCaused.flatMap((e) => e.codes));
    expect(Object.keys(PENALTIES).filter((k) => !known.has(k))).toEqual([]);
    // every local-only enum still exists and none of its codes sneaked into the table
    for (const name of LOCAL_ONLY.keys()) {
      const e = enums.find((x) => x.name === name);
      expect(e, `${name} listed as local-only but not found`).toBeDefined();
      expect(e!.codes.filter(isPenaltyCode)).toEqual([]);
    }
  });

  it.each(Object.entries(PENALTIES))("%s costs a finite number of points in 0..100", (_code, points) => {
    expect(Number.isFinite(points)).toBe(true);
    expect(points).toBeGreaterThanOrEqual(0);
    expect(points).toBeLessThanOrEqual(100);
  });

  it("a code outside the table has no penalty (no fallback default)", () => {
    expect(penaltyFor("SOME_OTHER_CODE")).toBeUndefined();
    expect(isPenaltyCode("SOME_OTHER_CODE")).toBe(false);
  });

  it("no-work blocks and forged or invalid signed batches ban at once", () => {
    expect(PENALTIES[BlockErrorCode.HIGH_HASH]).toBe(100);
    expect(PENALTIES[SyncErrorCode.BAD_BATCH_SIGNATURE]).toBe(100);
    expect(PENALTIES[SyncErrorCode.INVALID_BATCH]).toBe(100);
  });

  it("what an honest peer can do costs nothing: throttled, busy, timeouts, remote errors, state-dependent codes", () => {
    for (const code of [
      NetworkErrorCode.THROTTLED,
      NetworkErrorCode.BUSY,
      SyncErrorCode.TIMEOUT,
      SyncErrorCode.REMOTE_ERROR,
      SyncErrorCode.UNEXPECTED_BATCH,
      SyncErrorCode.STREAM_FAILED,
      BlockErrorCode.TIME_TOO_NEW,
      "TX_BAD_NONCE",
      "TX_INSUFFICIENT_FUNDS",
      "MEMPOOL_FULL",
    ])
      expect(penaltyFor(code), code).toBe(0);
  });
});

describe("resolveNetworkHostOptions", () => {
  it("fills defaults, keeps defaults for undefined fields, refuses minPeers > maxPeers", async () => {
    const { resolveNetworkHostOptions, DEFAULT_PEER_MANAGER_OPTIONS } = await import(
      "../../../src/network/index.js"
    );
    const opts = resolveNetworkHostOptions({ network: "regtest", listen: undefined, peers: { minPeers: 2 } });
    expect(opts.listen).toEqual(["/ip4/0.0.0.0/tcp/7333"]);
    expect(opts.peers).toEqual({ ...DEFAULT_PEER_MANAGER_OPTIONS, minPeers: 2 });
    expect(() =>
      resolveNetworkHostOptions({ network: "regtest", peers: { minPeers: 9, maxPeers: 3 } }),
    ).toThrow(RangeError);
  });
});
