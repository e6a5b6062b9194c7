import { createWriteStream, existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { getNetworkParams } from "../../consensus/index.js";
import {
  CHECKSUM_SUFFIX,
  checksumLine,
  EXPORT_FORMATS,
  EXPORT_WHATS,
  type ExportFormat,
  type ExportReport,
  type ExportSource,
  type ExportWhat,
  localExportSource,
  MaintenanceError,
  MaintenanceErrorCode,
  verifyExportFile,
  writeExport,
} from "../../maintenance/index.js";
import { StoreError } from "../../store/index.js";
import { writeFileAtomic } from "../../util/index.js";
import { type ApiTarget, callNode, findNode } from "../api-client.js";
import { CliError, type CliIo, type Command, parseOnlyFlags } from "../command.js";
import { networkFromNode, resolveNetworkAndDatadir } from "../datadir.js";
import { apiExportSource } from "../export-api-source.js";
import { openLocalChainUnlessLocked } from "../local-chain.js";

/**
 * `quarry export`: the public ledger as JSONL or CSV rows (docs/EXPORT.md), from a stopped node's
 * datadir (opened, nothing written) or, when a node holds the datadir, through that node's API.
 * Exit codes: 0 done; 1 a bad argument (one line says which and what to do); 2 the node is not
 * answering; 3 the store is unreadable, or `--what accounts` while a node runs; 4 `--verify`
 * found a mismatch; 5 a running node's main chain changed under the export (run it again).
 */

const flags = {
  network: { type: "string" },
  datadir: { type: "string" },
  api: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  format: { type: "string" },
  what: { type: "string" },
  out: { type: "string" },
  verify: { type: "string" },
  json: { type: "boolean" },
} as const;

const USAGE =
  "export [--from H] [--to H] [--format jsonl|csv] [--what blocks|txs|accounts] [--out FILE] [--network N] [--datadir DIR] [--api URL] [--json] | export --verify FILE";

const MAX_HEIGHT = 0xffff_ffff;

function heightFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_HEIGHT)
    throw new CliError(
      `--${name} must be a block height (an integer from 0 to ${MAX_HEIGHT}), not '${value}'`,
    );
  return Number(value);
}

function choice<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new CliError(`--${name} must be one of ${allowed.join(", ")}, not '${value}'`);
  return value as T;
}

function maintenanceToCli(err: unknown): unknown {
  if (!(err instanceof MaintenanceError)) return err;
  switch (err.code) {
    case MaintenanceErrorCode.EXPORT_CHAIN_CHANGED:
      return new CliError(`${err.message}; run the export again [${err.code}]`, 5, "CLI_FAILED");
    case MaintenanceErrorCode.EXPORT_CHECKSUM_MISMATCH:
      return new CliError(`${err.message} [${err.code}]`, 4, "CLI_FAILED");
    case MaintenanceErrorCode.EXPORT_NO_CHECKSUM:
      return new CliError(`${err.message}: an export written with --out has one [${err.code}]`);
    default:
      return new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
  }
}

async function verify(file: string, io: CliIo, json: boolean): Promise<number> {
  if (!existsSync(file)) throw new CliError(`no file ${file} to verify`);
  try {
    const { sha256 } = await verifyExportFile(file);
    io.out(
      json ? JSON.stringify({ ok: true, file, sha256 }) : `ok: ${file} matches ${file}${CHECKSUM_SUFFIX}`,
    );
    return 0;
  } catch (err) {
    throw maintenanceToCli(err);
  }
}

/** Where the rows come from: the datadir's store, or the node that holds it (or --api). */
async function openSource(
  values: { network?: string; datadir?: string; api?: string },
  what: ExportWhat,
  io: CliIo,
): Promise<{ source: ExportSource; close: () => Promise<void>; via: string }> {
  let choice = resolveNetworkAndDatadir(values, io.env);
  let target: ApiTarget | undefined;
  if (values.api === undefined) {
    const local = await openLocalChainUnlessLocked(choice.datadir, getNetworkParams(choice.network), {
      create: false,
      note: io.err,
    });
    if (!("locked" in local))
      return { source: localExportSource(local.chain, local.store), close: local.close, via: choice.datadir };
    target = findNode(choice.datadir, undefined);
  } else {
    target = findNode(choice.datadir, values.api);
  }
  if (what === "accounts")
    throw new CliError(
      `a running node's API does not list accounts: stop the node ('quarry stop') and run the export again, or export --what blocks|txs`,
      3,
      "CLI_FAILED",
    );
  const status = (await callNode(target, "getStatus")) as { network: string };
  choice = networkFromNode(choice, status.network, target.url, io.env);
  return { source: apiExportSource(target), close: async () => {}, via: target.url };
}

function summary(report: ExportReport, out: string | undefined, via: string): string {
  const range =
    report.what === "accounts" ? `state at height ${report.to}` : `heights ${report.from}-${report.to}`;
  return `exported ${report.rows} ${report.what} rows (${range}, ${report.format}, ${report.bytes} bytes, from ${via}) to ${out ?? "stdout"}; sha256 ${report.sha256}`;
}

export const exportCommand: Command = {
  path: ["export"],
  summary:
    "audit export of blocks, transactions or accounts as JSONL or CSV, with a SHA-256 sidecar (docs/EXPORT.md)",
  usage: USAGE,
  async run(args, io) {
    const { values } = parseOnlyFlags(args, flags, USAGE);
    if (values.verify !== undefined) {
      const others = Object.keys(values).filter((k) => k !== "verify" && k !== "json");
      if (others.length > 0)
        throw new CliError(`--verify takes no other option than --json (got --${others[0]})`);
      return verify(resolve(values.verify), io, values.json === true);
    }
    const what = choice("what", values.what, EXPORT_WHATS, "blocks");
    const format = choice<ExportFormat>("format", values.format, EXPORT_FORMATS, "jsonl");
    const fromFlag = heightFlag("from", values.from);
    const toFlag = heightFlag("to", values.to);
    if (what === "accounts" && (fromFlag !== undefined || toFlag !== undefined))
      throw new CliError("--what accounts exports the state at the tip: drop --from and --to");
    if (fromFlag !== undefined && toFlag !== undefined && fromFlag > toFlag)
      throw new CliError(`--from (${fromFlag}) is above --to (${toFlag}); give --from <= --to`);
    const out = values.out === undefined ? undefined : resolve(values.out);
    if (out !== undefined && (existsSync(out) || existsSync(`${out}${CHECKSUM_SUFFIX}`)))
      throw new CliError(`${out} or its ${CHECKSUM_SUFFIX} exists; remove it or choose another --out`);
    if (out !== undefined && existsSync(`${out}.partial`))
      throw new CliError(
        `${out}.partial exists (an export to ${out} is running, or one was interrupted); remove it or choose another --out`,
      );
    if (out !== undefined && !existsSync(dirname(out)))
      throw new CliError(`the directory of --out (${dirname(out)}) does not exist; create it first`);

    const opened = await openSource(values, what, io);
    try {
      const tip = await opened.source.tip();
      const from = fromFlag ?? 0;
      const to = toFlag ?? tip.height;
      if (what !== "accounts") {
        if (to > tip.height)
          throw new CliError(
            `--to ${to} is above the tip (height ${tip.height}); give --to ${tip.height} or less`,
          );
        if (from > to) throw new CliError(`--from (${from}) is above the tip (height ${tip.height})`);
      }
      const partial = out === undefined ? undefined : `${out}.partial`;
      const sink: Writable =
        partial === undefined ? process.stdout : createWriteStream(partial, { flags: "wx" });
      // a reader that goes away (`| head`) fails the export through the writer, never as an
      // unhandled 'error' event after it
      sink.on("error", () => {});
      // only a file this run created is removed on failure (another export may own one of that name)
      let created = false;
      sink.once("open", () => {
        created = true;
      });
      let report: ExportReport;
      try {
        report = await writeExport({ what, format, from, to }, opened.source, sink);
        if (partial !== undefined) {
          sink.end();
          await finished(sink);
        }
      } catch (err) {
        if (partial !== undefined) {
          sink.destroy();
          if (created) await rm(partial, { force: true });
        }
        throw err;
      }
      if (out !== undefined && partial !== undefined) {
        await rename(partial, out);
        await writeFileAtomic({
          path: `${out}${CHECKSUM_SUFFIX}`,
          data: checksumLine(report.sha256, out),
          mode: 0o644,
          overwrite: false,
        });
      }
      io.err(
        values.json ? JSON.stringify({ ...report, out: out ?? null }) : summary(report, out, opened.via),
      );
      return 0;
    } catch (err) {
      if (err instanceof StoreError) throw new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
      if ((err as NodeJS.ErrnoException).code === "EPIPE")
        throw new CliError("the output closed before the export finished: the rows are incomplete [EPIPE]");
      throw maintenanceToCli(err);
    } finally {
      await opened.close();
    }
  },
};
