import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { getNetworkParams, isNetworkName, type NetworkName } from "../../consensus/index.js";
import {
  assertEmptyTarget,
  type BackupReport,
  type BackupSources,
  readManifest,
  reindexChain,
  restoreBackup,
  writeBackup,
} from "../../maintenance/index.js";
import { LevelMempoolStore } from "../../mempool/index.js";
import { ChainStore, StoreError, StoreErrorCode } from "../../store/index.js";
import { callNode, findNode } from "../api-client.js";
import { CliError, type CliIo, type Command, parseFlags, parseOnlyFlags } from "../command.js";
import { parseNetworkName, resolveNetworkAndDatadir } from "../datadir.js";

/**
 * `quarry reindex`, `quarry backup DIR`, `quarry restore DIR --datadir X`: repair a damaged store
 * from its blocks, copy a datadir consistently (running or stopped), restore such a copy.
 * Design and failure behaviour: docs/RELIABILITY.md.
 */

const common = {
  network: { type: "string" },
  datadir: { type: "string" },
  json: { type: "boolean" },
} as const;

/** How long the CLI waits for a running node's backup (a large chain takes minutes to copy). */
const BACKUP_RPC_TIMEOUT_MS = 60 * 60 * 1000;
/** One progress line per this interval when stderr is not a terminal. */
const PROGRESS_LOG_INTERVAL_MS = 5_000;

function lockedToCli(err: unknown): never {
  if (err instanceof StoreError && err.code === StoreErrorCode.LOCKED)
    throw new CliError(`${err.message}: stop the running node first`, 3, "CLI_FAILED");
  throw err;
}

/** Progress: a rewritten line on a terminal, otherwise a log line every few seconds. */
function progressReporter(io: CliIo): { update: (done: number, total: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  const started = performance.now();
  return {
    update(done, total) {
      const now = performance.now();
      const interval = tty ? 200 : PROGRESS_LOG_INTERVAL_MS;
      if (done < total && now - last < interval) return;
      last = now;
      const percent = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
      const rate = (done / Math.max((now - started) / 1000, 1e-3)).toFixed(0);
      const line = `reindex: ${done}/${total} blocks (${percent}%, ${rate} blocks/s)`;
      if (tty) process.stderr.write(`\r${line}`);
      else io.err(line);
    },
    end() {
      if (tty) process.stderr.write("\n");
    },
  };
}

export const reindexCommand: Command = {
  path: ["reindex"],
  summary: "rebuild index, state and tx index from the stored blocks (node must not be running)",
  usage: "reindex [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values } = parseOnlyFlags(args, common, this.usage);
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const progress = progressReporter(io);
    const report = await reindexChain(
      { datadir, params: getNetworkParams(network) },
      {
        onRead: (blocks) => io.err(`reindex: read ${blocks} stored blocks; importing into a fresh store`),
        onProgress: progress.update,
      },
    ).catch(lockedToCli);
    progress.end();
    const blocksPerSecond = report.imported / Math.max(report.seconds, 1e-3);
    if (values.json) io.out(JSON.stringify({ ...report, blocksPerSecond }));
    else {
      io.out(
        `reindexed: read ${report.blocksRead} blocks (${report.unreadable} unreadable, ${report.unconnected} unconnected), imported ${report.imported} (${report.rejected} refused) in ${report.seconds.toFixed(1)} s (${blocksPerSecond.toFixed(0)} blocks/s)`,
      );
      io.out(`tip ${report.tip.height} ${report.tip.hash}`);
      if (report.damagedDir)
        io.out(`the old store is kept at ${report.damagedDir}; delete it when satisfied`);
    }
    return 0;
  },
};

/** Backs up a stopped node's datadir by opening its databases here. */
async function offlineBackup(
  datadir: string,
  target: string,
  network: NetworkName,
  chainStore: ChainStore,
): Promise<BackupReport> {
  const params = getNetworkParams(network);
  const mempool = existsSync(join(datadir, "mempool"))
    ? new LevelMempoolStore({ location: join(datadir, "mempool") })
    : undefined;
  // loaded here: the network folder brings libp2p, which no other maintenance command needs
  const peers = existsSync(join(datadir, "peers"))
    ? new (await import("../../network/index.js")).LevelPeerDb({ location: join(datadir, "peers") })
    : undefined;
  try {
    await mempool?.open();
    await peers?.open();
    const sources: BackupSources = {
      chain: chainStore,
      ...(mempool ? { mempool } : {}),
      ...(peers ? { peers } : {}),
    };
    return await writeBackup({ datadir, target, params }, sources);
  } finally {
    await mempool?.close();
    await peers?.close();
  }
}

export const backupCommand: Command = {
  path: ["backup"],
  summary: "write a consistent copy of the datadir (running or stopped node) with a manifest",
  usage: "backup DIR [--network N] [--datadir DIR] [--api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { ...common, api: { type: "string" } }, this.usage);
    if (positionals.length !== 1) throw new CliError(`give one backup directory (usage: ${this.usage})`);
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const target = resolve(positionals[0]!);
    if (!existsSync(join(datadir, "chain"))) throw new CliError(`${datadir} has no chain store to back up`);
    await assertEmptyTarget(target);
    const chainStore = new ChainStore({ location: join(datadir, "chain"), network });
    let report: BackupReport;
    let via: string;
    try {
      await chainStore.open();
      via = "stopped datadir";
      try {
        report = await offlineBackup(datadir, target, network, chainStore);
      } finally {
        await chainStore.close();
      }
    } catch (err) {
      if (!(err instanceof StoreError && err.code === StoreErrorCode.LOCKED)) throw err;
      // A node runs on this datadir: it copies its own open databases (token-protected method).
      via = "running node";
      report = (await callNode(
        findNode(datadir, values.api),
        "backup",
        { dir: target },
        BACKUP_RPC_TIMEOUT_MS,
      )) as BackupReport;
    }
    if (values.json) io.out(JSON.stringify({ ...report, via }));
    else
      io.out(
        `backup of ${report.network} at height ${report.tip.height} (${report.tip.hash}) written to ${report.dir} via the ${via}: ${report.files} files, ${report.bytes} bytes, ${report.seconds.toFixed(1)} s`,
      );
    return 0;
  },
};

export const restoreCommand: Command = {
  path: ["restore"],
  summary: "verify a backup (manifest, checksums, network) and restore it into a new datadir",
  usage: "restore DIR --datadir NEW_DIR [--network N] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, common, this.usage);
    if (positionals.length !== 1) throw new CliError(`give one backup directory (usage: ${this.usage})`);
    if (!values.datadir) throw new CliError(`--datadir is required: the new datadir to restore into`);
    const source = resolve(positionals[0]!);
    // The network: --network (or QUARRY_NETWORK), else the one the backup's manifest names.
    const named = values.network ?? io.env.QUARRY_NETWORK;
    const network =
      named !== undefined ? parseNetworkName(named, io.env) : (await readManifest(source)).network;
    if (!isNetworkName(network)) throw new CliError(`the backup names an unknown network '${network}'`);
    const report = await restoreBackup({
      source,
      datadir: resolve(values.datadir),
      params: getNetworkParams(network),
    });
    if (values.json) io.out(JSON.stringify(report));
    else
      io.out(
        `restored the ${report.network} backup of ${report.createdAt} (height ${report.tip.height}, ${report.tip.hash}) into ${report.datadir}: ${report.files} files verified`,
      );
    return 0;
  },
};

export const maintenanceCommands: readonly Command[] = [reindexCommand, backupCommand, restoreCommand];
