import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAddress } from "../helpers/chain-builder.js";
import { QUARRY_BIN, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/** `quarry start --log-file`: a real node process logging into a size-rotated file. */
describe("quarry start --log-file (real process)", () => {
  let tmp: { path: string; cleanup: () => void };
  beforeAll(() => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
    tmp = tempDir("quarry-log-file-");
  });
  afterAll(() => tmp?.cleanup());

  it("logs JSON lines into the file (not stdout), rotated at --log-max-size, --log-keep files kept", async () => {
    const datadir = join(tmp.path, "node");
    const logFile = join(tmp.path, "quarry.log");
    const child = spawn(
      process.execPath,
      [
        QUARRY_BIN,
        "start",
        ...["--network", "regtest", "--datadir", datadir, "--p2p-host", "127.0.0.1", "--p2p-port", "0"],
        // mining on regtest logs a line per block: plenty of lines to rotate
        ...["--api-port", "0", "--mine", "--miner-address", testAddress(1), "--threads", "1"],
        ...["--log-file", logFile, "--log-max-size", "2K", "--log-keep", "2"],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    try {
      // (with blocks mined this fast, early lines may already be rotated out: wait for api.json)
      await waitFor(() => existsSync(join(datadir, "api.json")), 20_000, "api.json");
      await waitFor(() => existsSync(`${logFile}.2`), 20_000, "a second rotation");
      const { url } = JSON.parse(readFileSync(join(datadir, "api.json"), "utf8")) as { url: string };
      const token = readFileSync(join(datadir, "api.cookie"), "utf8").trim();
      await fetch(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "stop" }),
      });
      expect(await exited).toBe(0);
      expect(stdout).toBe("");
      expect(stderr.trim()).toBe(`logging to ${logFile}`);
      const files = readdirSync(tmp.path)
        .filter((f) => f.startsWith("quarry.log"))
        .sort();
      expect(files).toEqual(["quarry.log", "quarry.log.1", "quarry.log.2"]);
      for (const f of files) {
        const text = readFileSync(join(tmp.path, f), "utf8");
        const lines = text.trim().split("\n");
        for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
        // at most 2 KiB, unless one line alone is longer
        if (lines.length > 1) expect(statSync(join(tmp.path, f)).size).toBeLessThanOrEqual(2048);
      }
      expect(readFileSync(logFile, "utf8")).toContain('"msg":"stopped"');
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a log file that cannot be opened: one line naming it, non-zero exit", async () => {
    const bad = join(tmp.path, "missing-folder", "quarry.log");
    const r = await runQuarry([
      "start",
      "--network",
      "regtest",
      "--datadir",
      join(tmp.path, "x"),
      "--log-file",
      bad,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([`quarry: cannot open the log file ${bad} (ENOENT)`]);
  });
});
