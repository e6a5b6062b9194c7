import { MinerPool } from "../miner/index.js";
import { decodeHeader, encodeHeader, headerHash, toHex } from "../primitives/index.js";
import { QuarryError } from "../util/index.js";
import { type ApiTarget, postRpc, type RpcAnswer } from "./api-client.js";

/**
 * A miner outside the node: it talks to the node only through JSON-RPC (`getBlockTemplate` with
 * long polling, `submitBlock`, the cookie token) and hashes with the project's worker-thread
 * MinerPool. While the workers search a template, one long poll waits for the next; whichever
 * comes first wins: a solution is submitted, a new template replaces the search.
 */

export class ExternalMinerError extends QuarryError<{ code: "MINER_RPC_FAILED"; rpcCode?: number }> {}

/** The parts of a getBlockTemplate answer the miner uses (docs/MINING.md lists them all). */
export interface TemplateAnswer {
  templateId: string;
  longpollid: string;
  height: number;
  header: string;
  block: string;
  time: number;
  minTime: number;
  maxTime: number;
  transactions: unknown[];
}

export interface ExternalMinerOptions {
  target: ApiTarget;
  /** the coinbase recipient (an address of the node's network) */
  address: string;
  threads: number;
  /** stop after this many accepted blocks; undefined: until the signal aborts */
  maxBlocks?: number;
  /** long-poll wait, seconds */
  longpollSeconds?: number;
}

export type ExternalMinerEvent =
  | { event: "template"; height: number; templateId: string; txs: number }
  | { event: "accepted"; height: number; hash: string }
  | { event: "rejected"; height: number; hash: string; code: string; message: string };

async function rpc(
  target: ApiTarget,
  method: string,
  params: unknown[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RpcAnswer> {
  const answer = await postRpc(target, method, params, { timeoutMs, signal });
  if (!("failure" in answer)) return answer;
  if (answer.failure === "unauthorized") {
    throw new ExternalMinerError(
      { code: "MINER_RPC_FAILED", rpcCode: -32001 },
      `${method}: the node refused the token (give the node's --datadir, which holds api.cookie)`,
    );
  }
  throw new ExternalMinerError(
    { code: "MINER_RPC_FAILED" },
    `${method}: the node at ${target.url} is not answering`,
  );
}

async function fetchTemplate(
  opts: ExternalMinerOptions,
  longpollid: string | undefined,
  signal?: AbortSignal,
): Promise<TemplateAnswer> {
  const wait = opts.longpollSeconds ?? 30;
  const params = longpollid === undefined ? [opts.address] : [opts.address, longpollid, wait];
  const answer = await rpc(opts.target, "getBlockTemplate", params, (wait + 30) * 1000, signal);
  if (answer.error) {
    throw new ExternalMinerError(
      { code: "MINER_RPC_FAILED", rpcCode: answer.error.code },
      `getBlockTemplate: ${answer.error.message}`,
    );
  }
  return answer.result as TemplateAnswer;
}

/** Mines until `maxBlocks` are accepted or `signal` aborts; reports each step through `onEvent`. */
export async function runExternalMiner(
  opts: ExternalMinerOptions,
  onEvent: (e: ExternalMinerEvent) => void,
  signal: AbortSignal,
): Promise<{ accepted: number }> {
  const pool = new MinerPool({ threads: opts.threads });
  await pool.start();
  const polls = new AbortController();
  const stopPolls = () => polls.abort();
  signal.addEventListener("abort", stopPolls, { once: true });
  let accepted = 0;
  try {
    let template = await fetchTemplate(opts, undefined, polls.signal);
    while (!signal.aborted && (opts.maxBlocks === undefined || accepted < opts.maxBlocks)) {
      onEvent({
        event: "template",
        height: template.height,
        templateId: template.templateId,
        txs: template.transactions.length,
      });
      const header = decodeHeader(Buffer.from(template.header, "hex"));
      // Mining may move the time forward (to now, within the template's bounds): nothing else changes.
      const now = Math.floor(Date.now() / 1000);
      header.time = Math.min(template.maxTime, Math.max(template.time, template.minTime, now));
      const search = new AbortController();
      const abortSearch = () => search.abort();
      signal.addEventListener("abort", abortSearch, { once: true });
      const next = fetchTemplate(opts, template.longpollid, polls.signal).then(
        (t) => ({ kind: "template" as const, t }),
        (err: unknown) => ({ kind: "failed" as const, err }),
      );
      const solved = pool.mine(header, search.signal).then((h) => ({ kind: "solved" as const, h }));
      const first = await Promise.race([solved, next]);
      search.abort();
      signal.removeEventListener("abort", abortSearch);
      if (signal.aborted) break;
      if (first.kind === "failed") throw first.err;
      if (first.kind === "solved" && first.h) {
        const headerHex = toHex(encodeHeader(first.h));
        const hash = toHex(headerHash(first.h));
        // The solved header alone: the node keeps the template's transactions (a full block may
        // not fit the API's request body limit).
        const answer = await rpc(opts.target, "submitBlock", [headerHex], 60_000);
        if (answer.error) {
          onEvent({
            event: "rejected",
            height: template.height,
            hash,
            code: answer.error.data?.code ?? String(answer.error.code),
            message: answer.error.message,
          });
        } else {
          accepted++;
          onEvent({ event: "accepted", height: template.height, hash });
        }
        if (opts.maxBlocks !== undefined && accepted >= opts.maxBlocks) break;
      }
      // A solution changed the tip, so the long poll answers; a template that came first is used.
      const polled = first.kind === "template" ? first : await next;
      if (polled.kind === "failed") {
        if (signal.aborted) break;
        throw polled.err;
      }
      template = polled.t;
    }
  } finally {
    polls.abort();
    signal.removeEventListener("abort", stopPolls);
    await pool.stop();
  }
  return { accepted };
}
