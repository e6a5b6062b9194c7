import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_PORTS, resolveNodeOptions } from "../../src/options.js";
import { initDatadir } from "../../src/store/index.js";
import { tempDir } from "../helpers/temp-dir.js";

/** Configuration layers: defaults → <datadir>/quarry.json → QUARRY_* env → flags. */
describe("resolveNodeOptions precedence", () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir("quarry-options-");
  });
  afterEach(() => dir.cleanup());

  const writeFile = (config: Record<string, unknown>) =>
    writeFileSync(join(dir.path, "quarry.json"), JSON.stringify(config));

  it("defaults when no layer sets a value (regtest ports, API on 127.0.0.1)", () => {
    const o = resolveNodeOptions({ network: "regtest", datadir: dir.path }, {});
    expect(o).toMatchObject({
      network: "regtest",
      datadir: dir.path,
      apiHost: "127.0.0.1",
      apiPort: DEFAULT_PORTS.regtest.api,
      p2pPort: DEFAULT_PORTS.regtest.p2p,
      mine: false,
      logLevel: "info",
      bootstrap: [],
    });
  });

  it("reachability: local on regtest and devnet, auto on testnet; env and flags set it and --nat", () => {
    expect(resolveNodeOptions({ network: "regtest", datadir: dir.path }, {})).toMatchObject({
      reachability: "local",
      nat: "none",
    });
    expect(resolveNodeOptions({ network: "testnet", datadir: dir.path }, {}).reachability).toBe("auto");
    const env = { QUARRY_REACHABILITY: "private", QUARRY_NAT: "upnp" };
    expect(resolveNodeOptions({ network: "regtest", datadir: dir.path }, env)).toMatchObject({
      reachability: "private",
      nat: "upnp",
    });
    expect(
      resolveNodeOptions({ network: "regtest", datadir: dir.path, reachability: "public" }, env).reachability,
    ).toBe("public");
  });

  it("CONFIG_INVALID for an unknown reachability or nat mode", () => {
    expect(() =>
      resolveNodeOptions({ network: "regtest", datadir: dir.path, reachability: "open" }, {}),
    ).toThrow(ConfigError);
    expect(() => resolveNodeOptions({ network: "regtest", datadir: dir.path, nat: "pcp" }, {})).toThrow(
      /nat must be one of none, upnp/,
    );
  });

  it("file < env < flags, key by key", () => {
    writeFile({ apiPort: 1111, p2pPort: 2222, threads: 3, logLevel: "warn", minPeers: 1 });
    const env = { QUARRY_API_PORT: "4444", QUARRY_P2P_PORT: "5555", QUARRY_LOG_LEVEL: "debug" };
    const flags = { network: "regtest", datadir: dir.path, apiPort: "7777" };
    const o = resolveNodeOptions(flags, env);
    expect(o.apiPort).toBe(7777); // flag beats env and file
    expect(o.p2pPort).toBe(5555); // env beats file
    expect(o.logLevel).toBe("debug"); // env beats file
    expect(o.threads).toBe(3); // file beats default
    expect(o.minPeers).toBe(1);
  });

  it("the data dir comes from env when no flag gives it, and its quarry.json is read", () => {
    writeFile({ apiPort: 1234 });
    const o = resolveNodeOptions({ network: "regtest" }, { QUARRY_DATADIR: dir.path });
    expect(o.datadir).toBe(dir.path);
    expect(o.apiPort).toBe(1234);
  });

  it("lists: comma-separated in env, repeated flags win whole", () => {
    writeFile({ bootstrap: ["/ip4/10.0.0.1/tcp/1/p2p/a"] });
    const env = { QUARRY_BOOTSTRAP: "/ip4/10.0.0.2/tcp/2/p2p/b, /ip4/10.0.0.3/tcp/3/p2p/c" };
    expect(resolveNodeOptions({ network: "regtest", datadir: dir.path }, env).bootstrap).toEqual([
      "/ip4/10.0.0.2/tcp/2/p2p/b",
      "/ip4/10.0.0.3/tcp/3/p2p/c",
    ]);
    expect(
      resolveNodeOptions(
        { network: "regtest", datadir: dir.path, bootstrap: ["/ip4/10.0.0.4/tcp/4/p2p/d"] },
        env,
      ).bootstrap,
    ).toEqual(["/ip4/10.0.0.4/tcp/4/p2p/d"]);
  });

  it("booleans: env 'true' enables mining; a flag false turns it off again", () => {
    const base = { network: "regtest", datadir: dir.path, minerKey: "miner" };
    expect(resolveNodeOptions(base, { QUARRY_MINE: "true" }).mine).toBe(true);
    expect(resolveNodeOptions({ ...base, mine: false }, { QUARRY_MINE: "true" }).mine).toBe(false);
  });

  it.each([
    ["apiPort", { QUARRY_API_PORT: "70000" }, {}],
    ["threads", {}, { threads: "zero" }],
    ["logLevel", { QUARRY_LOG_LEVEL: "loud" }, {}],
    ["mine", { QUARRY_MINE: "maybe" }, {}],
    ["mine", {}, { mine: true }],
  ] as const)("CONFIG_INVALID names the bad key: %s", (key, env, flags) => {
    let caught: unknown;
    try {
      resolveNodeOptions({ network: "regtest", datadir: dir.path, ...flags }, { ...env });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("CONFIG_INVALID");
    expect((caught as ConfigError).type.key).toBe(key);
  });

  it("network: a flag beats a bad QUARRY_NETWORK; without the flag it is CONFIG_INVALID", () => {
    const env = { QUARRY_NETWORK: "mainnet" };
    expect(resolveNodeOptions({ network: "regtest", datadir: dir.path }, env).network).toBe("regtest");
    expect(() => resolveNodeOptions({ datadir: dir.path }, env)).toThrow(ConfigError);
  });

  it("a file that is not a JSON object is a ConfigError, not a crash", () => {
    writeFileSync(join(dir.path, "quarry.json"), "{ not json");
    expect(() => resolveNodeOptions({ network: "regtest", datadir: dir.path }, {})).toThrow(ConfigError);
    writeFileSync(join(dir.path, "quarry.json"), "[1, 2]");
    expect(() => resolveNodeOptions({ network: "regtest", datadir: dir.path }, {})).toThrow(/JSON object/);
  });
});

/** A datadir that holds a chain records its network in datadir.json; options follow it. */
describe("resolveNodeOptions network from datadir.json", () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    dir = tempDir("quarry-options-marker-");
    await initDatadir(dir.path, "regtest");
  });
  afterEach(() => dir.cleanup());

  it("takes the network (and its default ports) from datadir.json when none is given", () => {
    const o = resolveNodeOptions({ datadir: dir.path }, {});
    expect(o.network).toBe("regtest");
    expect(o.apiPort).toBe(DEFAULT_PORTS.regtest.api);
  });

  it("CONFIG_INVALID (network): a flag or QUARRY_NETWORK naming another network, naming both", () => {
    for (const [flags, env] of [
      [{ datadir: dir.path, network: "devnet" }, {}],
      [{ datadir: dir.path }, { QUARRY_NETWORK: "devnet" }],
    ] as const) {
      let caught: unknown;
      try {
        resolveNodeOptions(flags, env);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).type.key).toBe("network");
      expect((caught as ConfigError).message).toMatch(
        /'devnet' clashes with .*datadir\.json, which says 'regtest'/,
      );
    }
  });

  it("CONFIG_INVALID (network): quarry.json naming another network than datadir.json", () => {
    writeFileSync(join(dir.path, "quarry.json"), JSON.stringify({ network: "testnet" }));
    expect(() => resolveNodeOptions({ datadir: dir.path }, {})).toThrow(
      /quarry\.json says network 'testnet'/,
    );
  });
});

describe("resolveNodeOptions: API vhosts and log file", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir("quarry-options-");
  });
  afterEach(() => dir.cleanup());
  const base = () => ({ network: "regtest", datadir: dir.path });

  it("apiVhosts: none by default; from quarry.json, QUARRY_API_VHOSTS (comma-separated) or flags", () => {
    expect(resolveNodeOptions(base(), {}).apiVhosts).toEqual([]);
    writeFileSync(join(dir.path, "quarry.json"), JSON.stringify({ apiVhosts: ["file.example"] }));
    expect(resolveNodeOptions(base(), {}).apiVhosts).toEqual(["file.example"]);
    expect(resolveNodeOptions(base(), { QUARRY_API_VHOSTS: "a.example, b.example" }).apiVhosts).toEqual([
      "a.example",
      "b.example",
    ]);
    expect(resolveNodeOptions({ ...base(), apiVhosts: ["*"] }, {}).apiVhosts).toEqual(["*"]);
  });

  it("log file: off by default, 10 MiB and 5 files kept; sizes take K/M/G suffixes", () => {
    expect(resolveNodeOptions(base(), {})).toMatchObject({
      logFile: undefined,
      logMaxSize: 10 * 1024 * 1024,
      logKeep: 5,
    });
    const o = resolveNodeOptions(
      { ...base(), logFile: "node.log" },
      { QUARRY_LOG_MAX_SIZE: "512K", QUARRY_LOG_KEEP: "2" },
    );
    expect(o.logFile).toBe(join(process.cwd(), "node.log"));
    expect(o.logMaxSize).toBe(512 * 1024);
    expect(o.logKeep).toBe(2);
    expect(resolveNodeOptions({ ...base(), logMaxSize: "2G" }, {}).logMaxSize).toBe(2 * 1024 ** 3);
    expect(resolveNodeOptions({ ...base(), logMaxSize: "4096" }, {}).logMaxSize).toBe(4096);
  });

  it("free space: halts under 100 MiB by default, checked every 10 s; 0 turns the halt off", () => {
    expect(resolveNodeOptions(base(), {})).toMatchObject({
      minFreeSpace: 100 * 1024 * 1024,
      diskCheckInterval: 10,
    });
    const o = resolveNodeOptions(base(), { QUARRY_MIN_FREE_SPACE: "1G", QUARRY_DISK_CHECK_INTERVAL: "2" });
    expect(o.minFreeSpace).toBe(1024 ** 3);
    expect(o.diskCheckInterval).toBe(2);
    expect(resolveNodeOptions({ ...base(), minFreeSpace: "0" }, {}).minFreeSpace).toBe(0);
  });

  it.each([
    ["minFreeSpace", { minFreeSpace: "lots" }],
    ["diskCheckInterval", { diskCheckInterval: "0" }],
    ["logMaxSize", { logMaxSize: "10X" }],
    ["logMaxSize", { logMaxSize: "100" }],
    ["logMaxSize", { logMaxSize: "-1M" }],
    ["logKeep", { logKeep: "101" }],
    ["logFile", { logFile: "" }],
  ] as const)("CONFIG_INVALID names the bad key: %s %j", (key, flags) => {
    let caught: unknown;
    try {
      resolveNodeOptions({ ...base(), ...flags }, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).type.key).toBe(key);
  });
});
