import { callNode, findNode } from "../api-client.js";
import { CliError, type CliIo, type Command, parseFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";

/** The operator's chain commands against a running node (RPC methods of rpc-chain-methods.ts). */

const clientFlags = {
  network: { type: "string" },
  datadir: { type: "string" },
  api: { type: "string" },
  json: { type: "boolean" },
} as const;

function target(values: { network?: string; datadir?: string; api?: string }, io: CliIo) {
  return findNode(resolveNetworkAndDatadir(values, io.env).datadir, values.api);
}

/** A command that calls one method with its single positional argument and prints the answer. */
function oneArgCommand(spec: {
  path: string[];
  summary: string;
  arg: string;
  method: string;
  param: string;
  toParam?: (value: string) => unknown;
}): Command {
  const usage = `${spec.path.join(" ")} <${spec.arg}> [--network N] [--datadir DIR | --api URL] [--json]`;
  return {
    path: spec.path,
    summary: spec.summary,
    usage,
    async run(args, io) {
      const { values, positionals } = parseFlags(args, clientFlags, usage);
      if (positionals.length !== 1) throw new CliError(`give one ${spec.arg} (usage: ${usage})`);
      const value = positionals[0]!;
      const result = await callNode(target(values, io), spec.method, {
        [spec.param]: spec.toParam ? spec.toParam(value) : value,
      });
      io.out(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
      return 0;
    },
  };
}

export const chainTipsCommand: Command = {
  path: ["chain", "tips"],
  summary: "every known branch tip of the running node: height, work, status",
  usage: "chain tips [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, clientFlags, this.usage);
    if (positionals.length > 0)
      throw new CliError(`unexpected argument '${positionals[0]}' (usage: ${this.usage})`);
    const tips = (await callNode(target(values, io), "getChainTips")) as {
      height: number;
      hash: string;
      branchLength: number;
      status: string;
    }[];
    if (values.json) io.out(JSON.stringify(tips));
    else
      for (const t of tips)
        io.out(`${String(t.height).padStart(8)} ${t.hash} ${t.status} (branch ${t.branchLength})`);
    return 0;
  },
};

export const chainClientCommands: readonly Command[] = [
  chainTipsCommand,
  oneArgCommand({
    path: ["block", "header"],
    summary: "a block's header and status by hash, height or 'tip' (any branch)",
    arg: "hash|height|tip",
    method: "getBlockHeader",
    param: "id",
  }),
  oneArgCommand({
    path: ["block", "invalidate"],
    summary: "mark a block and its descendants invalid, leaving it if on the main chain",
    arg: "hash",
    method: "invalidateBlock",
    param: "hash",
  }),
  oneArgCommand({
    path: ["block", "reconsider"],
    summary: "clear the invalid marks of a block (and its ancestors and descendants)",
    arg: "hash",
    method: "reconsiderBlock",
    param: "hash",
  }),
  oneArgCommand({
    path: ["fee", "estimate"],
    summary: "the fee rate and transfer fee for inclusion within N blocks",
    arg: "blocks",
    method: "estimateFee",
    param: "nBlocks",
  }),
  oneArgCommand({
    path: ["mempool", "entry"],
    summary: "one transaction of the running node's mempool",
    arg: "txid",
    method: "getMempoolEntry",
    param: "id",
  }),
];
