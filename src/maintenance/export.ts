import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Writable } from "node:stream";
import type { Chain } from "../chain/index.js";
import { encodeAddress, headerToJson, transactionToJson } from "../primitives/index.js";
import type { ChainStore } from "../store/index.js";
import { MaintenanceError, MaintenanceErrorCode } from "./errors.js";

/**
 * `quarry export`: an audit export of the public ledger (docs/EXPORT.md). Rows are written as they
 * are read, one block at a time, waiting for the sink to drain when it backs up: memory does not
 * grow with the range. The same rows come from a stopped node's store (`localExportSource`) or from
 * a running node's API (src/cli/export-api-source.ts); both build them from the JSON views the API
 * uses (headerToJson, transactionToJson).
 */

export const EXPORT_WHATS = ["blocks", "txs", "accounts"] as const;
export type ExportWhat = (typeof EXPORT_WHATS)[number];
export const EXPORT_FORMATS = ["jsonl", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Column order per `--what`: the CSV header row and the key order of each JSONL object. */
export const EXPORT_COLUMNS: Record<ExportWhat, readonly string[]> = {
  blocks: [
    "height",
    "hash",
    "prevHash",
    "time",
    "version",
    "bits",
    "nonce",
    "merkleRoot",
    "stateRoot",
    "chainWork",
    "txCount",
    "fees",
    "coinbaseRecipient",
    "coinbaseAmount",
  ],
  txs: [
    "height",
    "blockHash",
    "blockTime",
    "index",
    "id",
    "type",
    "sender",
    "recipient",
    "amount",
    "fee",
    "nonce",
  ],
  accounts: ["address", "balance", "nonce", "height", "tipHash"],
};

type Json = Record<string, string | number>;

/** One main-chain block as the export reads it: the API's JSON views of its header and txs. */
export interface ExportBlock {
  height: number;
  hash: string;
  /** 0x + hex */
  chainWork: string;
  header: Json;
  txs: Json[];
}

export interface ExportAccount {
  address: string;
  balance: string;
  nonce: string;
}

/** Where rows come from: a stopped node's store, or a running node's API. */
export interface ExportSource {
  /** the main-chain tip when the export starts */
  tip(): Promise<{ height: number; hash: string }>;
  /** main-chain blocks from..to in height order (a running node's may fail with EXPORT_CHAIN_CHANGED) */
  blocks(from: number, to: number): AsyncIterable<ExportBlock>;
  /** every account of the state at the tip */
  accounts(): AsyncIterable<ExportAccount>;
}

export interface ExportOptions {
  what: ExportWhat;
  format: ExportFormat;
  /** inclusive heights; ignored for accounts (the state at the tip) */
  from: number;
  to: number;
}

export interface ExportReport {
  what: ExportWhat;
  format: ExportFormat;
  /** heights exported (blocks, txs), or the tip whose state was exported (accounts) */
  from: number;
  to: number;
  rows: number;
  bytes: number;
  /** SHA-256 of every byte written, hex */
  sha256: string;
  seconds: number;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Formats rows and writes them to `sink`, hashing every byte and honouring backpressure. */
class RowWriter {
  readonly hash = createHash("sha256");
  rows = 0;
  bytes = 0;
  /** the sink's error (a closed pipe, a full disk): the next row throws it */
  private failed: Error | undefined;
  private readonly onError = (err: Error) => {
    this.failed = err;
  };

  constructor(
    private readonly sink: Writable,
    private readonly format: ExportFormat,
    private readonly columns: readonly string[],
  ) {
    sink.on("error", this.onError);
  }

  /** Stops listening to the sink; throws its error if it failed. */
  finish(): void {
    this.sink.off("error", this.onError);
    if (this.failed) throw this.failed;
  }

  async start(): Promise<void> {
    if (this.format === "csv") await this.line(this.columns.map(csvField).join(","));
  }

  async row(values: Record<string, unknown>): Promise<void> {
    this.rows++;
    if (this.format === "csv") {
      await this.line(this.columns.map((c) => csvField(values[c])).join(","));
      return;
    }
    const ordered: Record<string, unknown> = {};
    for (const c of this.columns) ordered[c] = values[c] ?? null;
    await this.line(JSON.stringify(ordered));
  }

  private async line(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    const bytes = Buffer.from(`${text}\n`, "utf8");
    this.hash.update(bytes);
    this.bytes += bytes.length;
    if (!this.sink.write(bytes)) await drained(this.sink);
  }
}

/** Resolves on `drain`; rejects if the sink fails or closes first (a closed pipe, a full disk). */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off("drain", onDrain);
      sink.off("error", onError);
      sink.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error("the output closed before the export finished"));
    sink.on("drain", onDrain);
    sink.on("error", onError);
    sink.on("close", onClose);
  });
}

function blockRow(b: ExportBlock): Record<string, unknown> {
  const coinbase = b.txs[0];
  let fees = 0n;
  for (const tx of b.txs) if (tx.type === "transfer") fees += BigInt(tx.fee!);
  return {
    height: b.height,
    hash: b.hash,
    prevHash: b.header.prevHash,
    time: b.header.time,
    version: b.header.version,
    bits: b.header.bits,
    nonce: b.header.nonce,
    merkleRoot: b.header.merkleRoot,
    stateRoot: b.header.stateRoot,
    chainWork: b.chainWork,
    txCount: b.txs.length,
    fees: fees.toString(),
    coinbaseRecipient: coinbase?.type === "coinbase" ? coinbase.recipient : null,
    coinbaseAmount: coinbase?.type === "coinbase" ? coinbase.amount : null,
  };
}

function txRows(b: ExportBlock): Record<string, unknown>[] {
  return b.txs.map((tx, index) => ({
    height: b.height,
    blockHash: b.hash,
    blockTime: b.header.time,
    index,
    id: tx.id,
    type: tx.type,
    sender: tx.sender ?? null,
    recipient: tx.recipient,
    amount: tx.amount,
    fee: tx.fee ?? null,
    nonce: tx.nonce ?? null,
  }));
}

/**
 * Writes the export to `sink` (not ended here) and reports rows, bytes and the SHA-256 of the
 * bytes. Blocks and txs: heights `from`..`to` of the main chain, which must be at or below the tip
 * (RangeError otherwise); accounts: the state at the tip.
 */
export async function writeExport(
  opts: ExportOptions,
  source: ExportSource,
  sink: Writable,
): Promise<ExportReport> {
  const { what, format } = opts;
  if (!EXPORT_WHATS.includes(what)) throw new TypeError(`unknown export '${what}'`);
  if (!EXPORT_FORMATS.includes(format)) throw new TypeError(`unknown format '${format}'`);
  const started = performance.now();
  const tip = await source.tip();
  const writer = new RowWriter(sink, format, EXPORT_COLUMNS[what]);
  try {
    await writeRows(opts, tip, source, writer);
  } finally {
    writer.finish();
  }
  return {
    what,
    format,
    from: what === "accounts" ? tip.height : opts.from,
    to: what === "accounts" ? tip.height : opts.to,
    rows: writer.rows,
    bytes: writer.bytes,
    sha256: writer.hash.digest("hex"),
    seconds: (performance.now() - started) / 1000,
  };
}

async function writeRows(
  opts: ExportOptions,
  tip: { height: number; hash: string },
  source: ExportSource,
  writer: RowWriter,
): Promise<void> {
  const { what, from, to } = opts;
  await writer.start();
  if (what === "accounts") {
    for await (const account of source.accounts()) {
      await writer.row({ ...account, height: tip.height, tipHash: tip.hash });
    }
  } else {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from > to)
      throw new RangeError(`heights must satisfy 0 <= from (${from}) <= to (${to})`);
    if (to > tip.height) throw new RangeError(`height ${to} is above the tip (${tip.height})`);
    for await (const block of source.blocks(from, to)) {
      if (what === "blocks") await writer.row(blockRow(block));
      else for (const row of txRows(block)) await writer.row(row);
    }
  }
}

/**
 * Rows from a stopped node's chain (opened by the caller, nothing written): blocks by main-chain
 * height through the in-memory index, accounts by one iterator over the store's account records.
 */
export function localExportSource(
  chain: Pick<Chain, "tip" | "entryAtHeight" | "getBlock" | "networkParams">,
  store: Pick<ChainStore, "accounts">,
): ExportSource {
  const prefix = chain.networkParams.addressPrefix;
  return {
    async tip() {
      return { height: chain.tip.height, hash: chain.tip.hashHex };
    },
    async *blocks(from, to) {
      for (let height = from; height <= to; height++) {
        const entry = chain.entryAtHeight(height);
        const block = entry ? await chain.getBlock(entry.hashHex) : undefined;
        if (!entry || !block)
          throw new MaintenanceError(
            MaintenanceErrorCode.EXPORT_CHAIN_CHANGED,
            `no main-chain block at ${height}`,
          );
        yield {
          height,
          hash: entry.hashHex,
          chainWork: `0x${entry.chainWork.toString(16)}`,
          header: headerToJson(block.header),
          txs: block.txs.map((tx) => transactionToJson(tx, prefix)),
        };
      }
    },
    async *accounts() {
      for await (const { address, account } of store.accounts()) {
        yield {
          address: encodeAddress(prefix, address),
          balance: account.balance.toString(),
          nonce: account.nonce.toString(),
        };
      }
    },
  };
}

/** The `<file>.sha256` sidecar's text: `sha256sum` format, so `sha256sum -c` checks it too. */
export function checksumLine(sha256: string, file: string): string {
  return `${sha256}  ${basename(file)}\n`;
}

export const CHECKSUM_SUFFIX = ".sha256";

/** SHA-256 of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Checks `file` against its `.sha256` sidecar: EXPORT_NO_CHECKSUM when the sidecar is missing or
 * not a checksum line, EXPORT_CHECKSUM_MISMATCH when the file's bytes differ.
 */
export async function verifyExportFile(file: string): Promise<{ sha256: string }> {
  const sidecar = `${file}${CHECKSUM_SUFFIX}`;
  let text: string;
  try {
    text = await readFile(sidecar, "utf8");
  } catch {
    throw new MaintenanceError(MaintenanceErrorCode.EXPORT_NO_CHECKSUM, `no checksum file ${sidecar}`);
  }
  const match = /^([0-9a-f]{64}) {2}(.+)\n?$/.exec(text);
  if (!match)
    throw new MaintenanceError(MaintenanceErrorCode.EXPORT_NO_CHECKSUM, `${sidecar} is not a sha256sum line`);
  const actual = await sha256File(file);
  if (actual !== match[1])
    throw new MaintenanceError(
      MaintenanceErrorCode.EXPORT_CHECKSUM_MISMATCH,
      `${file} does not match ${sidecar} (sha256 ${actual}, expected ${match[1]})`,
    );
  return { sha256: actual };
}
