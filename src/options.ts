import { existsSync, readFileSync } from "node:fs";
import { cpus, homedir } from "node:os";
import { join, resolve } from "node:path";
import {
  DEFAULT_NETWORK,
  getNetworkParams,
  isNetworkName,
  NETWORK_NAMES,
  type NetworkName,
} from "./consensus/index.js";
import { PORT_MAPPINGS, type PortMapping, REACHABILITIES, type Reachability } from "./network/index.js";
import { AddressError, decodeAddress } from "./primitives/index.js";
import { DATADIR_MARKER_FILE, readDatadirMarker } from "./store/index.js";
import type { LogLevel } from "./util/index.js";
import { QuarryError } from "./util/index.js";

/**
 * Node configuration: defaults → `<datadir>/quarry.json` → QUARRY_* environment → flags, each
 * layer overriding the one before. The network is the exception: a datadir that holds a chain
 * records it in `datadir.json`, which sets it when none is given and refuses a different one. Every value is validated here, with one-line errors, so services
 * receive only well-formed options.
 */
export interface NodeOptions {
  network: NetworkName;
  datadir: string;
  /** host the P2P TCP socket binds to */
  p2pHost: string;
  p2pPort: number;
  /** multiaddrs to announce instead of the listen addresses (e.g. behind NAT or in Docker) */
  announce: string[];
  bootstrap: string[];
  /**
   * whether others can dial this node (see src/network/options.ts): `local` (loopback and
   * single-host networks, the default for regtest and devnet), `auto` (AutoNAT decides; default
   * for testnet), `public`, `private`
   */
  reachability: Reachability;
  /** port mapping on the router: `none` (default) or `upnp` */
  nat: PortMapping;
  apiHost: string;
  apiPort: number;
  /** Host header names the API answers besides localhost and its own addresses; `*`: any */
  apiVhosts: string[];
  mine: boolean;
  /** bech32m address paid by mined coinbases */
  minerAddress: string | undefined;
  /** keystore key whose address is paid (its public part is read; no password needed) */
  minerKey: string | undefined;
  threads: number;
  minPeers: number;
  maxPeers: number;
  logLevel: LogLevel;
  /** write logs to this file (rotated by size) instead of stdout */
  logFile: string | undefined;
  /** rotate the log file when a line would make it larger than this many bytes */
  logMaxSize: number;
  /** rotated log files kept (PATH.1 … PATH.N); older ones are deleted */
  logKeep: number;
  /** below this many free bytes on the datadir's filesystem the node stops storing blocks; 0: off */
  minFreeSpace: number;
  /** seconds between free-space checks */
  diskCheckInterval: number;
  /**
   * keep the address index (getAddressHistory, the explorer's address pages); default true.
   * false (`--no-address-index`) deletes it at start; true builds it at start when missing.
   */
  addressIndex: boolean;
}

export class ConfigError extends QuarryError<{ code: "CONFIG_INVALID"; key: string }> {
  constructor(key: string, message: string) {
    super({ code: "CONFIG_INVALID", key }, message);
  }
}

export const DEFAULT_PORTS: Record<NetworkName, { p2p: number; api: number }> = {
  devnet: { p2p: 7330, api: 7331 },
  testnet: { p2p: 17330, api: 17331 },
  regtest: { p2p: 27330, api: 27331 },
};

export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 5;
/** bitcoind stops at 50 MiB ("Disk space is too low!"); a LevelDB compaction can need tens of MiB. */
export const DEFAULT_MIN_FREE_SPACE = 100 * 1024 * 1024;
export const DEFAULT_DISK_CHECK_INTERVAL = 10;
const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Raw values from one layer (file, env or flags), before validation. */
export type RawConfig = Partial<Record<keyof NodeOptions, unknown>>;

export function defaultDatadir(network: NetworkName): string {
  return join(homedir(), ".quarry", network);
}

/** Reads QUARRY_* variables. Lists are comma-separated. */
export function configFromEnv(env: NodeJS.ProcessEnv): RawConfig {
  const raw: RawConfig = {};
  const map: [keyof NodeOptions, string][] = [
    ["network", "QUARRY_NETWORK"],
    ["datadir", "QUARRY_DATADIR"],
    ["p2pHost", "QUARRY_P2P_HOST"],
    ["p2pPort", "QUARRY_P2P_PORT"],
    ["announce", "QUARRY_ANNOUNCE"],
    ["bootstrap", "QUARRY_BOOTSTRAP"],
    ["reachability", "QUARRY_REACHABILITY"],
    ["nat", "QUARRY_NAT"],
    ["apiHost", "QUARRY_API_HOST"],
    ["apiPort", "QUARRY_API_PORT"],
    ["apiVhosts", "QUARRY_API_VHOSTS"],
    ["mine", "QUARRY_MINE"],
    ["minerAddress", "QUARRY_MINER_ADDRESS"],
    ["minerKey", "QUARRY_MINER_KEY"],
    ["threads", "QUARRY_THREADS"],
    ["minPeers", "QUARRY_MIN_PEERS"],
    ["maxPeers", "QUARRY_MAX_PEERS"],
    ["logLevel", "QUARRY_LOG_LEVEL"],
    ["logFile", "QUARRY_LOG_FILE"],
    ["logMaxSize", "QUARRY_LOG_MAX_SIZE"],
    ["logKeep", "QUARRY_LOG_KEEP"],
    ["minFreeSpace", "QUARRY_MIN_FREE_SPACE"],
    ["diskCheckInterval", "QUARRY_DISK_CHECK_INTERVAL"],
    ["addressIndex", "QUARRY_ADDRESS_INDEX"],
  ];
  for (const [key, name] of map) {
    const value = env[name];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  return raw;
}

/** Reads `<datadir>/quarry.json` if it exists. */
export function configFromFile(datadir: string): RawConfig {
  const path = join(datadir, "quarry.json");
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError("file", `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("file", `${path} must hold a JSON object`);
  }
  return parsed as RawConfig;
}

function str(key: string, v: unknown): string {
  if (typeof v !== "string" || v.length === 0)
    throw new ConfigError(key, `${key} must be a non-empty string`);
  return v;
}

function int(key: string, v: unknown, min: number, max: number): number {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `${key} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  }
  return n;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (v === "1" || v === "true" || v === "yes") return true;
  if (v === "0" || v === "false" || v === "no") return false;
  throw new ConfigError(key, `${key} must be true or false, got '${String(v)}'`);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const MIN_LOG_SIZE = 1024;

/** A byte count: an integer, or a string like "4096", "512K", "10M", "1G" (binary units). */
function byteSize(key: string, v: unknown, min = MIN_LOG_SIZE): number {
  const match = typeof v === "string" ? /^(\d+)\s*([kKmMgG]?)i?B?$/.exec(v.trim()) : null;
  const n = typeof v === "number" ? v : match ? Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > 1024 ** 4) {
    const from = min === 0 ? "0" : "1K";
    throw new ConfigError(key, `${key} must be a size from ${from} to 1T (e.g. 10M), got '${String(v)}'`);
  }
  return n;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v))
    throw new ConfigError(key, `${key} must be one of ${allowed.join(", ")}, got '${String(v)}'`);
  return v as T;
}

function list(key: string, v: unknown): string[] {
  if (Array.isArray(v)) return v.map((item) => str(key, item));
  if (typeof v === "string") {
    return v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  throw new ConfigError(key, `${key} must be a list of strings`);
}

/**
 * Merges the layers and validates. `flags` wins over env, env over the file, the file over the
 * defaults. The data dir (from flags or env) is needed first, to find the file.
 */
export function resolveNodeOptions(flags: RawConfig, env: NodeJS.ProcessEnv): NodeOptions {
  const fromEnv = configFromEnv(env);
  const early = { ...fromEnv, ...flags };
  const networkRaw = early.network ?? DEFAULT_NETWORK;
  if (!isNetworkName(networkRaw)) {
    throw new ConfigError(
      "network",
      `unknown network '${String(networkRaw)}'; use one of: ${NETWORK_NAMES.join(", ")}`,
    );
  }
  let network: NetworkName = networkRaw;
  const datadir = resolve(
    early.datadir === undefined ? defaultDatadir(network) : str("datadir", early.datadir),
  );
  // A datadir that holds a chain knows its network (datadir.json): it wins over the default and
  // must agree with any network named explicitly.
  const marker = readDatadirMarker(datadir);
  if (marker !== undefined) {
    if (early.network !== undefined && early.network !== marker.network) {
      throw new ConfigError(
        "network",
        `network '${String(early.network)}' clashes with ${datadir}/${DATADIR_MARKER_FILE}, which says '${marker.network}'; drop --network/QUARRY_NETWORK or use another --datadir`,
      );
    }
    network = marker.network;
  }
  const merged: RawConfig = { ...configFromFile(datadir), ...fromEnv, ...flags };
  if (merged.network !== undefined && merged.network !== network) {
    if (!isNetworkName(merged.network)) {
      throw new ConfigError("network", `unknown network '${String(merged.network)}'`);
    }
    if (marker !== undefined) {
      throw new ConfigError(
        "network",
        `${datadir}/quarry.json says network '${String(merged.network)}' but ${DATADIR_MARKER_FILE} says '${marker.network}'; fix quarry.json`,
      );
    }
    network = merged.network;
  }
  const ports = DEFAULT_PORTS[network];
  const options: NodeOptions = {
    network,
    datadir,
    p2pHost: merged.p2pHost === undefined ? "0.0.0.0" : str("p2pHost", merged.p2pHost),
    p2pPort: merged.p2pPort === undefined ? ports.p2p : int("p2pPort", merged.p2pPort, 0, 65535),
    announce: merged.announce === undefined ? [] : list("announce", merged.announce),
    bootstrap: merged.bootstrap === undefined ? [] : list("bootstrap", merged.bootstrap),
    reachability:
      merged.reachability === undefined
        ? network === "testnet"
          ? "auto"
          : "local"
        : oneOf("reachability", merged.reachability, REACHABILITIES),
    nat: merged.nat === undefined ? "none" : oneOf("nat", merged.nat, PORT_MAPPINGS),
    apiHost: merged.apiHost === undefined ? "127.0.0.1" : str("apiHost", merged.apiHost),
    apiPort: merged.apiPort === undefined ? ports.api : int("apiPort", merged.apiPort, 0, 65535),
    apiVhosts: merged.apiVhosts === undefined ? [] : list("apiVhosts", merged.apiVhosts),
    mine: merged.mine === undefined ? false : bool("mine", merged.mine),
    minerAddress: merged.minerAddress === undefined ? undefined : str("minerAddress", merged.minerAddress),
    minerKey: merged.minerKey === undefined ? undefined : str("minerKey", merged.minerKey),
    threads:
      merged.threads === undefined ? Math.max(1, cpus().length - 1) : int("threads", merged.threads, 1, 256),
    minPeers: merged.minPeers === undefined ? 4 : int("minPeers", merged.minPeers, 0, 1000),
    maxPeers: merged.maxPeers === undefined ? 32 : int("maxPeers", merged.maxPeers, 1, 1000),
    logLevel: merged.logLevel === undefined ? "info" : (str("logLevel", merged.logLevel) as LogLevel),
    logFile: merged.logFile === undefined ? undefined : resolve(str("logFile", merged.logFile)),
    logMaxSize:
      merged.logMaxSize === undefined ? DEFAULT_LOG_MAX_SIZE : byteSize("logMaxSize", merged.logMaxSize),
    logKeep: merged.logKeep === undefined ? DEFAULT_LOG_KEEP : int("logKeep", merged.logKeep, 0, 100),
    minFreeSpace:
      merged.minFreeSpace === undefined
        ? DEFAULT_MIN_FREE_SPACE
        : byteSize("minFreeSpace", merged.minFreeSpace, 0),
    diskCheckInterval:
      merged.diskCheckInterval === undefined
        ? DEFAULT_DISK_CHECK_INTERVAL
        : int("diskCheckInterval", merged.diskCheckInterval, 1, 3600),
    addressIndex: merged.addressIndex === undefined ? true : bool("addressIndex", merged.addressIndex),
  };
  if (!LOG_LEVELS.includes(options.logLevel)) {
    throw new ConfigError("logLevel", `logLevel must be one of ${LOG_LEVELS.join(", ")}`);
  }
  if (options.minPeers > options.maxPeers)
    throw new ConfigError("minPeers", "minPeers must not exceed maxPeers");
  if (options.minerAddress !== undefined) {
    try {
      decodeAddress(getNetworkParams(network).addressPrefix, options.minerAddress);
    } catch (err) {
      if (err instanceof AddressError) throw new ConfigError("minerAddress", `minerAddress: ${err.message}`);
      throw err;
    }
  }
  if (options.minerAddress !== undefined && options.minerKey !== undefined) {
    throw new ConfigError("minerKey", "give either minerAddress or minerKey, not both");
  }
  if (options.mine && options.minerAddress === undefined && options.minerKey === undefined) {
    throw new ConfigError(
      "mine",
      "mining needs --miner-address ADDR or --miner-key NAME (see 'quarry keys new')",
    );
  }
  return options;
}

/** The effective configuration for the start-up log line (nothing here is secret). */
export function describeOptions(o: NodeOptions): Record<string, unknown> {
  return { ...o };
}
