import { join } from "node:path";
import { getNetworkParams } from "../../consensus/params.js";
import { Keystore } from "../../keystore/index.js";
import { LevelMempoolStore, Mempool } from "../../mempool/index.js";
import { MinerPool } from "../../miner/index.js";
import { BlockProducer } from "../../node/block-producer.js";
import { decodeAddress } from "../../primitives/address.js";
import { CliError, type Command, parseFlags } from "../command.js";
import { parseNetworkName, resolveDatadir } from "../datadir.js";
import { openLocalChain } from "../local-chain.js";

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
    const network = parseNetworkName(values.network, io.env);
    const params = getNetworkParams(network);
    const datadir = resolveDatadir(values.datadir, network, io.env);
    let recipient: Uint8Array;
    try {
      if (values.address !== undefined) recipient = decodeAddress(params.addressPrefix, values.address);
      else {
        const keystore = new Keystore({
          dir: join(datadir, "keystore"),
          network,
          addressPrefix: params.addressPrefix,
        });
        const info = await keystore.info(values.key!);
        if (!info.address) throw new CliError(`key '${values.key}' has no address for ${network}`);
        recipient = decodeAddress(params.addressPrefix, info.address);
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(
        `${values.address !== undefined ? "--address" : "--key"}: ${(err as Error).message}`,
      );
    }

    const local = await openLocalChain(datadir, params);
    const mempool = new Mempool(
      {},
      { params, state: local.chain, store: new LevelMempoolStore({ location: join(datadir, "mempool") }) },
    );
    const pool = new MinerPool({ threads });
    const producer = new BlockProducer(
      { recipient, refreshMs: 10_000, ...(blocks === undefined ? {} : { maxBlocks: blocks }) },
      { chain: local.chain, pool, selectTransactions: (n, bytes) => mempool.selectForBlock(n, bytes) },
    );
    local.chain.on("blockConnected", ({ block }) => void mempool.onBlockConnected(block));
    const started = Date.now();
    const startHeight = local.chain.height;
    producer.on("blockMined", ({ height, hash }) => {
      const elapsed = (Date.now() - started) / 1000;
      const line = {
        height,
        hash,
        mined: producer.blocksMined,
        hashrate: Math.round(pool.hashrate),
        elapsed,
      };
      if (values.json) io.out(JSON.stringify(line));
      else
        io.err(
          `mined ${producer.blocksMined}${blocks ? `/${blocks}` : ""}  height ${height}  ${(pool.hashrate / 1e6).toFixed(2)} MH/s  ${elapsed.toFixed(1)} s`,
        );
    });
    try {
      await mempool.start();
      await pool.start();
      const done = new Promise<void>((resolve) => {
        producer.once("done", () => resolve());
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      producer.start();
      await done;
    } finally {
      await producer.stop();
      await pool.stop();
      await mempool.stop();
      await local.close();
    }
    const summary = {
      network,
      mined: producer.blocksMined,
      fromHeight: startHeight,
      height: local.chain.height,
      tip: local.chain.tip.hashHex,
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
