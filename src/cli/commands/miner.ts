import { findNode } from "../api-client.js";
import { CliError, type Command, parseOnlyFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";
import { ExternalMinerError, runExternalMiner } from "../external-miner.js";

/**
 * `quarry miner`: an external miner. It reaches a node over JSON-RPC only (getBlockTemplate with
 * long polling, submitBlock), with the token from the node's datadir, and hashes on worker threads.
 */
export const minerCommand: Command = {
  path: ["miner"],
  summary: "mine for a running node over its RPC (getBlockTemplate/submitBlock)",
  usage:
    "miner --address ADDR [--rpc URL] [--datadir DIR] [--network N] [--threads T] [--blocks N] [--longpoll SECONDS]",
  async run(args, io) {
    const { values } = parseOnlyFlags(
      args,
      {
        address: { type: "string" },
        rpc: { type: "string" },
        datadir: { type: "string" },
        network: { type: "string" },
        threads: { type: "string" },
        blocks: { type: "string" },
        longpoll: { type: "string" },
      },
      this.usage,
    );
    if (!values.address) throw new CliError(`--address is required (usage: ${this.usage})`);
    const threads = values.threads === undefined ? 1 : Number(values.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new CliError("--threads must be 1..256");
    const blocks = values.blocks === undefined ? undefined : Number(values.blocks);
    if (blocks !== undefined && (!Number.isInteger(blocks) || blocks < 1))
      throw new CliError("--blocks must be a positive whole number");
    const longpoll = values.longpoll === undefined ? 30 : Number(values.longpoll);
    if (!Number.isInteger(longpoll) || longpoll < 1 || longpoll > 120)
      throw new CliError("--longpoll must be 1..120");
    // The token: api.cookie in the node's datadir (--datadir, or the network's default).
    const target = findNode(resolveNetworkAndDatadir(values, io.env).datadir, values.rpc);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const { accepted } = await runExternalMiner(
        {
          target,
          address: values.address,
          threads,
          longpollSeconds: longpoll,
          ...(blocks === undefined ? {} : { maxBlocks: blocks }),
        },
        (event) => io.out(JSON.stringify(event)),
        controller.signal,
      );
      io.err(`quarry miner: ${accepted} block(s) accepted`);
      return 0;
    } catch (err) {
      if (err instanceof ExternalMinerError) throw new CliError(err.message, 2, "CLI_FAILED");
      throw err;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
};
