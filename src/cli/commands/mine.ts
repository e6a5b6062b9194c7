import { getNetworkParams } from "../../consensus/index.js";
import {
  createChainServices,
  createMiningServices,
  Lifecycle,
  resolveMinerRecipient,
} from "../../node/index.js";
import { silentLogger } from "../../util/index.js";
import { CliError, type Command, parseFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";
import { prepareLocalDatadir, startOffline } from "../local-chain.js";

/**
 * `quarry mine --offline`: extends the local chain with no network at all. Every block is imported
 * through the chain (one atomic batch each), so a kill at any moment keeps all blocks mined so far.
 * Transactions waiting in the local mempool are included. The next `quarry start` reconciles with
 * the network: whichever side has more work wins, and the other reorganises.
 */
export const mineCommand: Command = {
  path: ["mine"],
  summary: "mine on the local chain with networking off (--offline)",
  usage:
    "mine --offline [--blocks N] [--address ADDR | --key NAME] [--threads T] [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values } = parseFlags(
      args,
      {
        offline: { type: "boolean" },
        blocks: { type: "string" },
        address: { type: "string" },
        key: { type: "string" },
        threads: { type: "string" },
        network: { type: "string" },
        datadir: { type: "string" },
        json: { type: "boolean" },
      },
      this.usage,
    );
    if (!values.offline)
      throw new CliError("this command only mines offline: add --offline, or run 'quarry start --mine'");
    if ((values.address === undefined) === (values.key === undefined)) {
      throw new CliError(`give exactly one of --address ADDR or --key NAME (usage: ${this.usage})`);
    }
    const blocks = values.blocks === undefined ? undefined : Number(values.blocks);
    if (blocks !== undefined && (!Number.isInteger(blocks) || blocks < 1)) {
      throw new CliError("--blocks must be a positive whole number");
    }
    const threads = values.threads === undefined ? 1 : Number(values.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new CliError("--threads must be 1..256");
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const params = getNetworkParams(network);
    let recipient: Uint8Array;
    try {
      recipient = await resolveMinerRecipient(
        { datadir, params },
        values.address !== undefined ? { address: values.address } : { key: values.key! },
      );
    } catch (err) {
      throw new CliError(
        `${values.address !== undefined ? "--address" : "--key"}: ${(err as Error).message}`,
      );
    }

    // The same chain, mempool, miner and producer a mining node runs, without the network.
    const log = silentLogger;
    await prepareLocalDatadir(datadir, params, { create: true, note: io.err });
    const local = createChainServices({ datadir, params }, { log });
    const mining = createMiningServices(
      { recipient, threads, startProducer: false, ...(blocks === undefined ? {} : { maxBlocks: blocks }) },
      { chain: local.chain, mempool: local.mempool, log },
    );
    const { chain } = local;
    const { miner, producer } = mining;
    const lifecycle = new Lifecycle([...local.steps, ...mining.steps], log);
    const started = Date.now();
    let startHeight = 0;
    producer.on("blockMined", ({ height, hash }) => {
      const elapsed = (Date.now() - started) / 1000;
      const line = {
        height,
        hash,
        mined: producer.blocksMined,
        hashrate: Math.round(miner.hashrate),
        elapsed,
      };
      if (values.json) io.out(JSON.stringify(line));
      else
        io.err(
          `mined ${producer.blocksMined}${blocks ? `/${blocks}` : ""}  height ${height}  ${(miner.hashrate / 1e6).toFixed(2)} MH/s  ${elapsed.toFixed(1)} s`,
        );
    });
    const done = new Promise<void>((resolve) => {
      producer.once("done", () => resolve());
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    try {
      await startOffline(lifecycle);
      startHeight = chain.height;
      producer.start();
      await done;
    } finally {
      await lifecycle.stop();
    }
    const summary = {
      network,
      mined: producer.blocksMined,
      fromHeight: startHeight,
      height: chain.height,
      tip: chain.tip.hashHex,
      seconds: (Date.now() - started) / 1000,
    };
    io.out(
      values.json
        ? JSON.stringify(summary)
        : `mined ${summary.mined} blocks offline: height ${summary.height}, tip ${summary.tip}`,
    );
    return 0;
  },
};
