import { checkStoreRecords, replayMainChain } from "../../chain/index.js";
import { getNetworkParams } from "../../consensus/index.js";
import { StoreError } from "../../store/index.js";
import { CliError, type Command, parseFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";
import { openLocalChain } from "../local-chain.js";

const flags = {
  network: { type: "string" },
  datadir: { type: "string" },
  json: { type: "boolean" },
  full: { type: "boolean" },
} as const;

/** At most one progress line per this interval (only on a terminal). */
const PROGRESS_INTERVAL_MS = 1000;

export const verifyCommand: Command = {
  path: ["verify"],
  summary:
    "check every stored record the node reads (index, blocks, undo, tx index, state tree, tip state); --full also replays every block",
  usage: "verify [--full] [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values } = parseFlags(args, flags, this.usage);
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const params = getNetworkParams(network);
    const started = performance.now();
    // Refuses a missing or damaged store (never creates one); opening the chain loads the index
    // and runs the tip state-root check, failing with the reason.
    const local = await openLocalChain(datadir, params, { create: false, note: io.err });
    const showProgress = !values.json && process.stderr.isTTY === true;
    let lastProgress = 0;
    const progress = (what: string, done: number, total?: number) => {
      if (!showProgress || performance.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = performance.now();
      io.err(`verify: ${what} ${done}${total === undefined ? "" : `/${total}`}`);
    };
    try {
      const records = await checkStoreRecords(local.store, progress);
      const replay = values.full
        ? await replayMainChain(local.store, params, (h) => progress("replayed blocks", h, records.height))
        : undefined;
      const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
      const result = {
        ok: true,
        mode: values.full ? "full replay" : "records",
        height: records.height,
        tip: records.tip,
        counts: { ...records.counts, ...(replay ? { replayedAccounts: replay.accounts } : {}) },
        seconds,
        blocksPerSecond: Math.round(records.counts.blocks / Math.max(seconds, 0.001)),
      };
      if (values.json) io.out(JSON.stringify(result));
      else {
        io.out(`ok: ${result.mode} verified up to height ${result.height} (${result.tip}) in ${seconds} s`);
        for (const [table, n] of Object.entries(result.counts)) io.out(`  ${table.padEnd(18)} ${n}`);
      }
      return 0;
    } catch (err) {
      if (err instanceof StoreError) throw new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
      throw err;
    } finally {
      await local.close();
    }
  },
};
