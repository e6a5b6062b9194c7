import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ChainStore,
  DatadirError,
  DatadirErrorCode,
  initDatadir,
  prepareDatadir,
  readDatadirMarker,
  StoreError,
  StoreErrorCode,
} from "../../../src/store/index.js";
import type { Logger } from "../../../src/util/logger.js";
import { tempDir } from "../../helpers/temp-dir.js";

/** prepareDatadir on real LevelDB directories: the cases the process tests do not reach. */

function recordingLogger(): Logger & { lines: { level: string; msg: string | undefined }[] } {
  const lines: { level: string; msg: string | undefined }[] = [];
  const log = {
    lines,
    debug: (_o: object, msg?: string) => void lines.push({ level: "debug", msg }),
    info: (_o: object, msg?: string) => void lines.push({ level: "info", msg }),
    warn: (_o: object, msg?: string) => void lines.push({ level: "warn", msg }),
    error: (_o: object, msg?: string) => void lines.push({ level: "error", msg }),
    child: () => log,
  };
  return log;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DatadirError) return err.code;
    throw err;
  }
  return undefined;
}

describe("prepareDatadir", () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir("quarry-datadir-unit-");
  });
  afterEach(() => dir.cleanup());

  it("moves an unreadable cache database (mempool without CURRENT) aside and logs it", async () => {
    await initDatadir(dir.path, "regtest");
    const mempoolDir = join(dir.path, "mempool");
    const db = new ClassicLevel(mempoolDir);
    await db.put("k", "v");
    await db.close();
    rmSync(join(mempoolDir, "CURRENT"));
    const log = recordingLogger();
    await prepareDatadir(
      { datadir: dir.path, network: "regtest", create: false, checkCaches: true },
      { log },
    );
    expect(existsSync(mempoolDir)).toBe(false);
    const aside = readdirSync(dir.path).filter((n) => n.startsWith("mempool.damaged-"));
    expect(aside).toHaveLength(1);
    expect(log.lines.some((l) => l.level === "warn" && l.msg?.startsWith("cache database unreadable"))).toBe(
      true,
    );
  });

  it("logs an absent cache database of an existing datadir and leaves it to its owner", async () => {
    await initDatadir(dir.path, "regtest");
    const log = recordingLogger();
    await prepareDatadir(
      { datadir: dir.path, network: "regtest", create: false, checkCaches: true },
      { log },
    );
    expect(
      log.lines.filter((l) => l.msg === "cache database absent: starting with an empty one"),
    ).toHaveLength(2);
    expect(existsSync(join(dir.path, "peers"))).toBe(false);
  });

  it("DATADIR_MARKER_INVALID: a garbled datadir.json is refused", async () => {
    await initDatadir(dir.path, "regtest");
    writeFileSync(join(dir.path, "datadir.json"), "{ garbled");
    expect(await code(prepareDatadir({ datadir: dir.path, network: "regtest", create: true }))).toBe(
      DatadirErrorCode.MARKER_INVALID,
    );
  });

  it("DATADIR_NETWORK_MISMATCH: another network, or another genesis for the same network", async () => {
    await initDatadir(dir.path, "regtest");
    expect(await code(prepareDatadir({ datadir: dir.path, network: "devnet", create: true }))).toBe(
      DatadirErrorCode.NETWORK_MISMATCH,
    );
    const marker = readDatadirMarker(dir.path)!;
    writeFileSync(
      join(dir.path, "datadir.json"),
      JSON.stringify({ ...marker, genesisHash: "ab".repeat(32) }),
    );
    expect(await code(prepareDatadir({ datadir: dir.path, network: "regtest", create: true }))).toBe(
      DatadirErrorCode.NETWORK_MISMATCH,
    );
  });

  it("DATADIR_NOT_INITIALISED: without create, an empty datadir gets nothing written", async () => {
    expect(await code(prepareDatadir({ datadir: dir.path, network: "regtest", create: false }))).toBe(
      DatadirErrorCode.NOT_INITIALISED,
    );
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it("a datadir with a keystore but no chain store is new: create makes the store, then the marker", async () => {
    writeFileSync(join(dir.path, "node-key"), "x");
    const { state, marker } = await prepareDatadir({ datadir: dir.path, network: "devnet", create: true });
    expect(state).toBe("created");
    expect(readDatadirMarker(dir.path)).toEqual(marker);
    expect((await prepareDatadir({ datadir: dir.path, network: "devnet", create: false })).state).toBe(
      "existing",
    );
  });

  it("STORE_LOCKED only for a store held open elsewhere; DATADIR_STORE_UNREADABLE for a lost MANIFEST", async () => {
    const datadir = join(dir.path, "blockchain"); // a path containing "lock" must not fool the check
    await initDatadir(datadir, "regtest");
    const holder = new ChainStore({ location: join(datadir, "chain"), network: "regtest" });
    await holder.open();
    try {
      let caught: unknown;
      try {
        await prepareDatadir({ datadir, network: "regtest", create: false });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StoreError);
      expect((caught as StoreError).code).toBe(StoreErrorCode.LOCKED);
    } finally {
      await holder.close();
    }
    // and an unreadable store under that path is unreadable, not "in use"
    for (const name of readdirSync(join(datadir, "chain")))
      if (name.startsWith("MANIFEST-")) rmSync(join(datadir, "chain", name));
    expect(await code(prepareDatadir({ datadir, network: "regtest", create: false }))).toBe(
      DatadirErrorCode.STORE_UNREADABLE,
    );
  });
});
