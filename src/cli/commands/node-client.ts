import { getNetworkParams } from "../../consensus/index.js";
import { encodeTransaction, toHex, U64_MAX } from "../../primitives/index.js";
import { callNode, findNode } from "../api-client.js";
import { CliError, type CliIo, type Command, parseFlags } from "../command.js";
import { networkFromNode, resolveNetworkAndDatadir } from "../datadir.js";
import { keyPassword, keystoreFlags, openKeystore, withKeyErrors } from "./keys.js";
import { parseRecipient, parseU64, signWithKey } from "./tx-sign.js";

/** The flags of every command that talks to a running node. */
export const clientFlags = {
  network: { type: "string" },
  datadir: { type: "string" },
  api: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The running node a client command talks to. */
export function target(values: { network?: string; datadir?: string; api?: string }, io: CliIo) {
  return findNode(resolveNetworkAndDatadir(values, io.env).datadir, values.api);
}

function printKeyValues(io: CliIo, obj: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(obj)) {
    io.out(`${key.padEnd(12)} ${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }
}

export const statusCommand: Command = {
  path: ["status"],
  summary: "the running node: height, tip, peers, sync progress, mining, mempool",
  usage: "status [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values } = parseFlags(args, clientFlags, this.usage);
    const status = (await callNode(target(values, io), "getStatus")) as Record<string, unknown>;
    const halted = status.halted as { code: string; reason: string } | null | undefined;
    if (values.json) io.out(JSON.stringify(status));
    else {
      const sync = status.sync as {
        targetHeight: number;
        blocksPerSecond: number;
        etaSeconds: number | null;
        headers?: { height: number; targetHeight: number };
        blocks?: { height: number; targetHeight: number };
      };
      printKeyValues(io, {
        network: status.network,
        peerId: status.peerId,
        height: status.height,
        tip: status.tip,
        peers: status.peers,
        syncing: status.syncing
          ? `yes, to ${sync.targetHeight} (${sync.blocksPerSecond.toFixed(1)} blocks/s)`
          : "no",
        ...(status.syncing && sync.headers && sync.blocks
          ? {
              headers: `${sync.headers.height} / ${sync.headers.targetHeight}`,
              blocks: `${sync.blocks.height} / ${sync.blocks.targetHeight}`,
            }
          : {}),
        mining: status.mining ? `yes, ${Math.round(Number(status.hashrate))} H/s` : "no",
        mempool: (status.mempool as { size: number }).size,
        store: halted ? `HALTED (${halted.code}): ${halted.reason}` : "writing",
      });
    }
    // A halted node answers, but is not healthy: scripts see it in the exit code.
    return halted ? 3 : 0;
  },
};

export const blockCommand: Command = {
  path: ["block"],
  summary: "a block by hash, height or 'tip'",
  usage: "block <hash|height|tip> [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length !== 1) throw new CliError(`give one block id (usage: ${this.usage})`);
    const block = await callNode(target(values, io), "getBlock", { id: positionals[0] });
    io.out(values.json ? JSON.stringify(block) : JSON.stringify(block, null, 2));
    return 0;
  },
};

export const balanceCommand: Command = {
  path: ["balance"],
  summary: "balance and nonce of an address at the tip",
  usage: "balance <address> [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length !== 1) throw new CliError(`give one address (usage: ${this.usage})`);
    const account = (await callNode(target(values, io), "getAccount", { address: positionals[0] })) as Record<
      string,
      unknown
    >;
    if (values.json) io.out(JSON.stringify(account));
    else printKeyValues(io, account);
    return 0;
  },
};

export const txBroadcastCommand: Command = {
  path: ["tx", "broadcast"],
  summary: "submit a signed transaction (hex) to the running node",
  usage: "tx broadcast <hex> [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length !== 1) throw new CliError(`give the transaction hex (usage: ${this.usage})`);
    const result = (await callNode(target(values, io), "sendRawTransaction", { hex: positionals[0] })) as {
      id: string;
    };
    io.out(values.json ? JSON.stringify(result) : result.id);
    return 0;
  },
};

export const txSendCommand: Command = {
  path: ["tx", "send"],
  summary: "sign a transfer with a keystore key and submit it to the running node; prints the tx id",
  usage:
    "tx send --from KEY --to ADDR --amount A [--fee F] [--nonce N] [--password-file F] [--datadir DIR | --api URL]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseFlags(
        args,
        {
          ...keystoreFlags,
          api: { type: "string" },
          from: { type: "string" },
          to: { type: "string" },
          amount: { type: "string" },
          fee: { type: "string" },
          nonce: { type: "string" },
        },
        this.usage,
      );
      if (!values.from || !values.to || !values.amount) {
        throw new CliError(`--from, --to and --amount are required (usage: ${this.usage})`);
      }
      const amount = parseU64(values.amount, "--amount");
      const fee = parseU64(values.fee ?? "1000", "--fee");
      if (amount + fee > U64_MAX) throw new CliError("--amount plus --fee exceeds 2^64-1 base units");
      // The network: --network, QUARRY_NETWORK or datadir.json, checked against the node's own.
      let choice = resolveNetworkAndDatadir(values, io.env);
      let node = findNode(choice.datadir, values.api);
      const status = (await callNode(node, "getStatus")) as { network: string };
      const before = choice.datadir;
      choice = networkFromNode(choice, status.network, node.url, io.env);
      if (choice.datadir !== before) node = findNode(choice.datadir, values.api);
      const params = getNetworkParams(choice.network);
      const recipient = parseRecipient(params, values.to);
      const { keystore } = openKeystore(values, io.env, choice);
      const info = await keystore.info(values.from);
      const nonce =
        values.nonce !== undefined
          ? parseU64(values.nonce, "--nonce")
          : BigInt(
              ((await callNode(node, "getAccount", { address: info.address })) as { pendingNonce: string })
                .pendingNonce,
            );
      const password = await keyPassword(values, io.env, `Password for key '${values.from}': `, false);
      const tx = await signWithKey(keystore, values.from, password, params, {
        recipient,
        amount,
        fee,
        nonce,
      });
      const result = (await callNode(node, "sendRawTransaction", { hex: toHex(encodeTransaction(tx)) })) as {
        id: string;
      };
      io.out(values.json ? JSON.stringify({ ...result, nonce: nonce.toString() }) : result.id);
      return 0;
    });
  },
};

export const stopCommand: Command = {
  path: ["stop"],
  summary: "stop the running node cleanly",
  usage: "stop [--network N] [--datadir DIR | --api URL]",
  async run(args, io) {
    const { values } = parseFlags(args, clientFlags, this.usage);
    await callNode(target(values, io), "stop");
    io.out("stopping");
    return 0;
  },
};

export const nodeClientCommands: readonly Command[] = [
  statusCommand,
  blockCommand,
  balanceCommand,
  txBroadcastCommand,
  txSendCommand,
  stopCommand,
];
