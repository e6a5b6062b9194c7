import {
  type ExportAccount,
  type ExportBlock,
  type ExportSource,
  MaintenanceError,
  MaintenanceErrorCode,
} from "../maintenance/index.js";
import type { ApiTarget } from "./api-client.js";
import { CliError } from "./command.js";

/** Blocks asked for in one JSON-RPC batch (the server takes 100 at most). */
export const EXPORT_BATCH_BLOCKS = 25;
const REQUEST_TIMEOUT_MS = 60_000;

interface BlockAnswer {
  hash: string;
  height: number;
  chainWork: string;
  header: Record<string, string | number>;
  txs: Record<string, string | number>[];
}

type BatchAnswer = { id: number; result?: unknown; error?: { code: number; message: string } }[];

const NOT_FOUND = -32004;

async function batch(target: ApiTarget, calls: { method: string; params: unknown }[]): Promise<BatchAnswer> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: "2.0", id, ...c }))),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    throw new CliError(`the node at ${target.url} is not answering; is it running?`, 2, "CLI_FAILED");
  }
  const body = (await res.json()) as BatchAnswer | { error: { message: string } };
  if (!Array.isArray(body))
    throw new CliError(
      `the node at ${target.url} refused the export: ${body.error.message}`,
      1,
      "CLI_FAILED",
    );
  return body.sort((a, b) => a.id - b.id);
}

/**
 * Rows from a running node, through its read-only JSON-RPC methods (no token): main-chain blocks
 * by height with `getBlock`, in batches, the next batch fetched while the current one is written.
 * Each block's prevHash must be the hash of the block before it: if a reorg replaced blocks between
 * two reads the export stops with EXPORT_CHAIN_CHANGED rather than mix two branches. Accounts are
 * not listed by the API: `accounts()` refuses (the command refuses first, with what to do).
 */
export function apiExportSource(target: ApiTarget): ExportSource {
  const fetchRange = async (from: number, to: number): Promise<BlockAnswer[]> => {
    const calls = [];
    for (let h = from; h <= to; h++) calls.push({ method: "getBlock", params: { id: String(h) } });
    const answers = await batch(target, calls);
    return answers.map((a, i) => {
      if (a.error?.code === NOT_FOUND)
        throw new MaintenanceError(
          MaintenanceErrorCode.EXPORT_CHAIN_CHANGED,
          `block ${from + i} left the node's main chain during the export`,
        );
      if (a.error) throw new CliError(`getBlock ${from + i}: ${a.error.message}`, 1, "CLI_FAILED");
      return a.result as BlockAnswer;
    });
  };
  return {
    async tip() {
      const [answer] = await batch(target, [{ method: "getBlockHeader", params: { id: "tip" } }]);
      if (!answer?.result) throw new CliError(`getBlockHeader: ${answer?.error?.message}`, 1, "CLI_FAILED");
      const tip = answer.result as { height: number; hash: string };
      return { height: tip.height, hash: tip.hash };
    },
    async *blocks(from, to): AsyncGenerator<ExportBlock> {
      let previous: string | undefined;
      let next: Promise<BlockAnswer[]> | undefined = fetchRange(
        from,
        Math.min(to, from + EXPORT_BATCH_BLOCKS - 1),
      );
      for (let start = from; next; start += EXPORT_BATCH_BLOCKS) {
        const blocks = await next;
        const nextStart = start + EXPORT_BATCH_BLOCKS;
        next =
          nextStart <= to
            ? fetchRange(nextStart, Math.min(to, nextStart + EXPORT_BATCH_BLOCKS - 1))
            : undefined;
        // a failed prefetch must not go unhandled while this batch is written; it is awaited above
        next?.catch(() => undefined);
        for (const b of blocks) {
          if (previous !== undefined && b.header.prevHash !== previous)
            throw new MaintenanceError(
              MaintenanceErrorCode.EXPORT_CHAIN_CHANGED,
              `the node's main chain changed at height ${b.height} during the export`,
            );
          previous = b.hash;
          yield { height: b.height, hash: b.hash, chainWork: b.chainWork, header: b.header, txs: b.txs };
        }
      }
    },
    // biome-ignore lint/correctness/useYield: refuses before yielding anything
    async *accounts(): AsyncGenerator<ExportAccount> {
      throw new CliError("a running node's API does not list accounts", 3, "CLI_FAILED");
    },
  };
}
