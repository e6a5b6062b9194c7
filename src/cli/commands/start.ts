import type { NodeOptions, RawConfig } from "../../options.js";
import { createFileLogger, createLogger, type Logger, QuarryError } from "../../util/index.js";
import { CliError, type CliIo, type Command, parseFlags } from "../command.js";

const flags = {
  network: { type: "string" },
  datadir: { type: "string" },
  "p2p-host": { type: "string" },
  "p2p-port": { type: "string" },
  announce: { type: "string", multiple: true },
  bootstrap: { type: "string", multiple: true },
  reachability: { type: "string" },
  nat: { type: "string" },
  "api-host": { type: "string" },
  "api-port": { type: "string" },
  mine: { type: "boolean" },
  "miner-key": { type: "string" },
  "miner-address": { type: "string" },
  threads: { type: "string" },
  "min-peers": { type: "string" },
  "max-peers": { type: "string" },
  "log-level": { type: "string" },
  "api-vhosts": { type: "string", multiple: true },
  "log-file": { type: "string" },
  "log-max-size": { type: "string" },
  "log-keep": { type: "string" },
  "min-free-space": { type: "string" },
  "disk-check-interval": { type: "string" },
  "no-address-index": { type: "boolean" },
} as const;

/**
 * The node, its configuration and the network stack, loaded when `quarry start` runs rather than
 * when the CLI starts: libp2p is most of the CLI's start-up time, and no other command needs it
 * (docs/OPERATIONS.md, "CLI start-up").
 */
async function loadNode() {
  const [options, network, node] = await Promise.all([
    import("../../options.js"),
    import("../../network/index.js"),
    import("../../node.js"),
  ]);
  return {
    ConfigError: options.ConfigError,
    describeOptions: options.describeOptions,
    resolveNodeOptions: options.resolveNodeOptions,
    installStreamRaceGuard: network.installStreamRaceGuard,
    createNode: node.createNode,
  };
}

/** stdout, or the rotated file of --log-file (one line on stderr says where the logs go). */
function openLogger(options: NodeOptions, io: CliIo): Logger {
  if (options.logFile === undefined) return createLogger(options.logLevel);
  try {
    const log = createFileLogger(options.logLevel, {
      path: options.logFile,
      maxBytes: options.logMaxSize,
      keep: options.logKeep,
    });
    io.err(`logging to ${options.logFile}`);
    return log;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(`cannot open the log file ${options.logFile} (${code})`);
  }
}

/** How long a clean stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;

export const startCommand: Command = {
  path: ["start"],
  summary: "run a node: P2P, sync, relay, HTTP API (and mining with --mine)",
  usage:
    "start [--network N] [--datadir DIR] [--p2p-port P] [--announce MA]... [--bootstrap MA]... [--reachability local|auto|public|private] [--nat none|upnp] [--api-port P] [--mine --miner-address A|--miner-key K] [--threads T] [--api-vhosts H,...] [--log-level L] [--log-file F [--log-max-size 10M] [--log-keep 5]] [--min-free-space 100M] [--disk-check-interval 10] [--no-address-index]",
  async run(args, io) {
    const { values } = parseFlags(args, flags, this.usage);
    const { ConfigError, createNode, describeOptions, installStreamRaceGuard, resolveNodeOptions } =
      await loadNode();
    const raw: RawConfig = {};
    const set = (key: keyof RawConfig, value: unknown) => {
      if (value !== undefined) raw[key] = value;
    };
    set("network", values.network);
    set("datadir", values.datadir);
    set("p2pHost", values["p2p-host"]);
    set("p2pPort", values["p2p-port"]);
    set("announce", values.announce);
    set("bootstrap", values.bootstrap);
    set("reachability", values.reachability);
    set("nat", values.nat);
    set("apiHost", values["api-host"]);
    set("apiPort", values["api-port"]);
    set("mine", values.mine);
    set("minerKey", values["miner-key"]);
    set("minerAddress", values["miner-address"]);
    set("threads", values.threads);
    set("minPeers", values["min-peers"]);
    set("maxPeers", values["max-peers"]);
    set("logLevel", values["log-level"]);
    set(
      "apiVhosts",
      values["api-vhosts"]?.flatMap((v) => v.split(",")),
    );
    set("logFile", values["log-file"]);
    set("logMaxSize", values["log-max-size"]);
    set("logKeep", values["log-keep"]);
    set("minFreeSpace", values["min-free-space"]);
    set("diskCheckInterval", values["disk-check-interval"]);
    if (values["no-address-index"]) set("addressIndex", false);
    let options: NodeOptions;
    try {
      options = resolveNodeOptions(raw, io.env);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`configuration: ${err.message}`);
      throw err;
    }
    const log = openLogger(options, io);
    installStreamRaceGuard(log);
    log.info({ config: describeOptions(options) }, "effective configuration");
    const node = await createNode(options, { log });
    try {
      await node.start();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = err instanceof QuarryError ? ` [${err.code}]` : "";
      throw new CliError(`could not start the node: ${message}${code}`, 3, "CLI_FAILED");
    }
    const signal = await new Promise<string>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
      void node.stopRequested.then(() => resolve("api stop"));
    });
    log.info({ reason: signal }, "stopping");
    const deadline = setTimeout(() => {
      log.error({}, "stop took too long; exiting");
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await node.stop();
    clearTimeout(deadline);
    log.info({}, "stopped");
    return 0;
  },
};
