import { RpcError, RpcErrorCode, type RpcMethodTable, type RpcParams } from "../api/index.js";
import type { Chain } from "../chain/index.js";
import { AddressError, decodeAddress, encodeAddress, toHex } from "../primitives/index.js";
import { type AddressCursor, AddressDirection, type AddressIndexEntry } from "../store/index.js";

/** Entries per getAddressHistory page when the caller names no `limit`, and the most it may name. */
export const ADDRESS_HISTORY_DEFAULT_LIMIT = 25;
export const ADDRESS_HISTORY_MAX_LIMIT = 500;
/** Why getAddressHistory answers -32006: the node runs with --no-address-index. */
export const ADDRESS_INDEX_DISABLED = "ADDRESS_INDEX_DISABLED";

const CURSOR_RE = /^(\d{1,10}):(\d{1,5})$/;
const DIRECTIONS: Record<AddressDirection, string> = {
  [AddressDirection.In]: "in",
  [AddressDirection.Out]: "out",
  [AddressDirection.Self]: "self",
  [AddressDirection.Coinbase]: "coinbase",
};

/** What the address methods read, and nothing more. */
export interface AddressRpcServices {
  chain: Pick<
    Chain,
    | "networkParams"
    | "tip"
    | "height"
    | "entryAtHeight"
    | "getAccounts"
    | "addressIndexEnabled"
    | "addressHistory"
  >;
}

/** -32602 naming the parameter in data.param (and the validator's code when there is one). */
function invalidParam(param: string, message: string, code?: string): RpcError {
  return new RpcError(RpcErrorCode.INVALID_PARAMS, `parameter '${param}' ${message}`, {
    param,
    ...(code ? { code } : {}),
  });
}

function addressParam(p: RpcParams, prefix: string): Uint8Array {
  const value = p.address;
  if (typeof value !== "string" || value.length === 0)
    throw invalidParam("address", "is required: an address");
  if (value.length > 200) throw invalidParam("address", "is longer than any address");
  try {
    return decodeAddress(prefix, value);
  } catch (err) {
    if (err instanceof AddressError)
      throw invalidParam("address", `is not an address: ${err.message}`, err.code);
    throw err;
  }
}

function limitParam(p: RpcParams): number {
  const value = p.limit;
  if (value === undefined) return ADDRESS_HISTORY_DEFAULT_LIMIT;
  const n = typeof value === "string" && /^\d{1,6}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > ADDRESS_HISTORY_MAX_LIMIT)
    throw invalidParam("limit", `must be an integer in [1, ${ADDRESS_HISTORY_MAX_LIMIT}]`);
  return n;
}

function cursorParam(p: RpcParams): AddressCursor | undefined {
  const value = p.cursor;
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? CURSOR_RE.exec(value) : null;
  const height = match ? Number(match[1]) : Number.NaN;
  const position = match ? Number(match[2]) : Number.NaN;
  if (!match || height > 0xffff_ffff || position > 0xffff)
    throw invalidParam("cursor", "must be a nextCursor from a previous page ('<height>:<position>')");
  return { height, position };
}

function reverseParam(p: RpcParams): boolean {
  const value = p.reverse;
  if (value === undefined || value === false || value === "false" || value === "0") return false;
  if (value === true || value === "true" || value === "1") return true;
  throw invalidParam("reverse", "must be true or false");
}

/** The signed change of the address's balance by one entry (decimal string). */
function balanceDelta(e: AddressIndexEntry): bigint {
  switch (e.direction) {
    case AddressDirection.In:
    case AddressDirection.Coinbase:
      return e.amount;
    case AddressDirection.Out:
      return -(e.amount + e.fee);
    case AddressDirection.Self:
      return -e.fee;
  }
}

/** Reads of one history page taken again when the tip moved while they ran. */
const CONSISTENT_READ_ATTEMPTS = 3;

/** getAddressHistory (docs/API.md "Address index"). */
export function buildAddressRpcMethods(node: AddressRpcServices): RpcMethodTable {
  const { chain } = node;
  const prefix = chain.networkParams.addressPrefix;
  return {
    getAddressHistory: {
      summary:
        "an address's balance, nonce and main-chain transactions from the address index, paged (params: address, limit, cursor, reverse)",
      readOnly: true,
      params: ["address", "limit", "cursor", "reverse"],
      async handler(p) {
        const id = addressParam(p, prefix);
        const limit = limitParam(p);
        const cursor = cursorParam(p);
        const reverse = reverseParam(p);
        if (!chain.addressIndexEnabled)
          throw new RpcError(
            RpcErrorCode.ADDRESS_INDEX_DISABLED,
            "the address index is off on this node (started with --no-address-index)",
            { code: ADDRESS_INDEX_DISABLED },
          );
        // The index, the account and the block hashes are read at one tip: a block connected or
        // disconnected (a reorg) between the reads would mix two chains, so the reads are taken
        // again (a few times, then the last reads are answered as they are).
        let entries: Awaited<ReturnType<typeof chain.addressHistory>>;
        let accounts: Awaited<ReturnType<typeof chain.getAccounts>>;
        let blockHashes: (string | null)[];
        let tipHeight: number;
        for (let attempt = 1; ; attempt++) {
          const tipBefore = chain.tip.hashHex;
          [entries, accounts] = await Promise.all([
            chain.addressHistory(id, { cursor, reverse, limit: limit + 1 }),
            chain.getAccounts([id]),
          ]);
          blockHashes = entries.map((e) => chain.entryAtHeight(e.height)?.hashHex ?? null);
          tipHeight = chain.height;
          if (chain.tip.hashHex === tipBefore || attempt === CONSISTENT_READ_ATTEMPTS) break;
        }
        const account = accounts.get(toHex(id)) ?? { balance: 0n, nonce: 0n };
        const page = entries.slice(0, limit);
        const last = page.at(-1);
        return {
          address: encodeAddress(prefix, id),
          balance: account.balance,
          nonce: account.nonce,
          height: tipHeight,
          txs: page.map((e, i) => ({
            txid: toHex(e.txId),
            height: e.height,
            position: e.position,
            blockHash: blockHashes[i] ?? null,
            confirmations: Math.max(0, tipHeight - e.height + 1),
            direction: DIRECTIONS[e.direction],
            amount: e.amount,
            fee: e.fee,
            delta: balanceDelta(e),
            counterparty: e.counterparty ? encodeAddress(prefix, e.counterparty) : null,
          })),
          nextCursor: entries.length > limit && last ? `${last.height}:${last.position}` : null,
        };
      },
    },
  };
}
