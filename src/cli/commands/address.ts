import { callNode } from "../api-client.js";
import { CliError, type Command, parseFlags } from "../command.js";
import { target } from "./node-client.js";

const flags = {
  network: { type: "string" },
  datadir: { type: "string" },
  api: { type: "string" },
  json: { type: "boolean" },
  limit: { type: "string" },
  cursor: { type: "string" },
  reverse: { type: "boolean" },
} as const;

interface HistoryPage {
  address: string;
  balance: string;
  nonce: string;
  height: number;
  txs: {
    txid: string;
    height: number;
    direction: string;
    delta: string;
    fee: string;
    counterparty: string | null;
  }[];
  nextCursor: string | null;
}

/** `quarry address history`: one page of getAddressHistory (the node's address index). */
export const addressHistoryCommand: Command = {
  path: ["address", "history"],
  summary: "an address's balance and main-chain transactions from the running node's address index, paged",
  usage:
    "address history <address> [--limit N] [--cursor C] [--reverse] [--network N] [--datadir DIR | --api URL] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(args, flags, this.usage);
    if (positionals.length !== 1) throw new CliError(`give one address (usage: ${this.usage})`);
    const params: Record<string, unknown> = { address: positionals[0] };
    if (values.limit !== undefined) params.limit = values.limit;
    if (values.cursor !== undefined) params.cursor = values.cursor;
    if (values.reverse) params.reverse = true;
    const page = (await callNode(target(values, io), "getAddressHistory", params)) as HistoryPage;
    if (values.json) {
      io.out(JSON.stringify(page));
      return 0;
    }
    io.out(`${page.address}  balance ${page.balance}  nonce ${page.nonce}  (tip ${page.height})`);
    if (page.txs.length === 0) io.out("no transactions");
    for (const t of page.txs) {
      const other = t.counterparty ? ` ${t.direction === "in" ? "from" : "to"} ${t.counterparty}` : "";
      io.out(
        `${String(t.height).padStart(8)} ${t.txid} ${t.direction.padEnd(8)} ${t.delta.padStart(16)}${other}`,
      );
    }
    if (page.nextCursor) io.out(`more: --cursor ${page.nextCursor}`);
    return 0;
  },
};
