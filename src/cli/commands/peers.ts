import { callNode } from "../api-client.js";
import { CliError, type CliIo, type Command, parseFlags } from "../command.js";
import { clientFlags, target } from "./node-client.js";

/** One peer of `getPeers` (the fields printed here). */
interface PeerRow {
  peerId: string;
  address: string;
  direction: string;
  connectedSinceMs: number;
  latencyMs: number | null;
  agent: string | null;
  height: number | null;
  score: number;
  bytesIn: number;
  bytesOut: number;
}

interface BanRow {
  kind: "peer" | "address";
  target: string;
  code: string;
  reason: string;
  sinceMs: number;
  untilMs: number;
}

const SUBCOMMANDS = "ban, unban, connect or disconnect";

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function age(sinceMs: number): string {
  const s = Math.max(0, Math.round((Date.now() - sinceMs) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function printBans(io: CliIo, bans: readonly BanRow[]): void {
  if (bans.length === 0) {
    io.out("no bans");
    return;
  }
  for (const b of bans) {
    const until = new Date(b.untilMs).toISOString();
    const since = new Date(b.sinceMs).toISOString();
    io.out(`${b.kind.padEnd(7)} ${b.target}  ${b.code}  since ${since}  until ${until}  ${b.reason}`);
  }
}

/** The one positional argument a subcommand takes. */
function oneArgument(positionals: readonly string[], what: string, usage: string): string {
  if (positionals.length !== 1) throw new CliError(`give ${what} (usage: ${usage})`);
  return positionals[0]!;
}

export const peersCommand: Command = {
  path: ["peers"],
  summary: `peers of the running node (address, direction, latency, height, score, bytes); ${SUBCOMMANDS}`,
  usage: "peers [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length > 0)
      throw new CliError(`unknown 'peers' subcommand '${positionals[0]}'; use ${SUBCOMMANDS}`);
    const result = (await callNode(target(values, io), "getPeers")) as { peers: PeerRow[]; bans: BanRow[] };
    if (values.json) {
      io.out(JSON.stringify(result));
      return 0;
    }
    io.out(`${result.peers.length} connected`);
    for (const p of result.peers) {
      const latency = p.latencyMs === null ? "-" : `${p.latencyMs}ms`;
      io.out(
        [
          p.peerId,
          p.direction.padEnd(8),
          p.address,
          `up ${age(p.connectedSinceMs)}`,
          `rtt ${latency}`,
          `height ${p.height ?? "-"}`,
          `score ${p.score}`,
          `in ${bytes(p.bytesIn)}`,
          `out ${bytes(p.bytesOut)}`,
          p.agent ?? "-",
        ].join("  "),
      );
    }
    if (result.bans.length > 0) io.out(`${result.bans.length} banned (quarry bans)`);
    return 0;
  },
};

export const bansCommand: Command = {
  path: ["bans"],
  summary: "active bans of the running node: peer ids and IP addresses, reason, since, until",
  usage: "bans [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length > 0)
      throw new CliError(`unexpected argument '${positionals[0]}' (usage: ${this.usage})`);
    const bans = (await callNode(target(values, io), "getBans")) as BanRow[];
    if (values.json) io.out(JSON.stringify(bans));
    else printBans(io, bans);
    return 0;
  },
};

export const peersBanCommand: Command = {
  path: ["peers", "ban"],
  summary: "ban a peer id or IP address (default 24 h) and disconnect it",
  usage: "peers ban <peer-id|ip> [--seconds N] [--reason TEXT] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(
      args,
      { ...clientFlags, seconds: { type: "string" }, reason: { type: "string" } },
      this.usage,
    );
    const to = oneArgument(positionals, "one peer id or IP address", this.usage);
    let seconds: number | undefined;
    if (values.seconds !== undefined) {
      if (!/^[1-9]\d{0,9}$/.test(values.seconds))
        throw new CliError(`--seconds must be a positive whole number, not '${values.seconds}'`);
      seconds = Number(values.seconds);
    }
    const ban = (await callNode(target(values, io), "banPeer", {
      target: to,
      ...(seconds === undefined ? {} : { seconds }),
      ...(values.reason === undefined ? {} : { reason: values.reason }),
    })) as BanRow;
    if (values.json) io.out(JSON.stringify(ban));
    else io.out(`banned ${ban.kind} ${ban.target} until ${new Date(ban.untilMs).toISOString()}`);
    return 0;
  },
};

export const peersUnbanCommand: Command = {
  path: ["peers", "unban"],
  summary: "lift the ban of a peer id or IP address",
  usage: "peers unban <peer-id|ip> [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    const to = oneArgument(positionals, "one peer id or IP address", this.usage);
    const lifted = (await callNode(target(values, io), "unbanPeer", { target: to })) as BanRow;
    io.out(values.json ? JSON.stringify(lifted) : `unbanned ${lifted.kind} ${lifted.target}`);
    return 0;
  },
};

export const peersConnectCommand: Command = {
  path: ["peers", "connect"],
  summary: "dial a multiaddr now, once (like bitcoind's addnode onetry)",
  usage: "peers connect <multiaddr> [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    const address = oneArgument(positionals, "one multiaddr", this.usage);
    const result = (await callNode(target(values, io), "connectPeer", { address })) as {
      peerId: string;
      address: string;
    };
    io.out(values.json ? JSON.stringify(result) : `connected to ${result.peerId} at ${result.address}`);
    return 0;
  },
};

export const peersDisconnectCommand: Command = {
  path: ["peers", "disconnect"],
  summary: "close every connection to a peer (not a ban: it may come back)",
  usage: "peers disconnect <peer-id> [--datadir DIR | --api URL]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    const peerId = oneArgument(positionals, "one peer id", this.usage);
    await callNode(target(values, io), "disconnectPeer", { peerId });
    io.out(`disconnected ${peerId}`);
    return 0;
  },
};

export const peerCommands: readonly Command[] = [
  peersCommand,
  peersBanCommand,
  peersUnbanCommand,
  peersConnectCommand,
  peersDisconnectCommand,
  bansCommand,
];
