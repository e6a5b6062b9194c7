import { isAbsolute } from "node:path";
import {
  optionalIntParam,
  RpcError,
  RpcErrorCode,
  type RpcMethodTable,
  type RpcParams,
  stringParam,
} from "../api/index.js";
import type { Chain, ReorgEvent } from "../chain/index.js";
import { type BackupReport, MaintenanceError } from "../maintenance/index.js";
import type { Mempool } from "../mempool/index.js";
import type { MinerPool } from "../miner/index.js";
import type { NetworkHost } from "../network/index.js";
import type { Block } from "../primitives/index.js";
import {
  AddressError,
  CodecError,
  decodeAddress,
  decodeTransaction,
  encodeAddress,
  encodeTransaction,
  equalBytes,
  fromHex,
  headerToJson,
  senderOf,
  TxType,
  toHex,
  transactionId,
  transactionToJson,
} from "../primitives/index.js";
import type { BlockIndexEntry } from "../store/index.js";
import { StoreError } from "../store/index.js";
import type { SyncManager } from "../sync/index.js";
import { ValidationError } from "../util/index.js";
import type { BlockProducer } from "./block-producer.js";
import { buildPeerRpcMethods } from "./peer-rpc-methods.js";
import { type AddressRpcServices, buildAddressRpcMethods } from "./rpc-address-methods.js";
import { buildChainRpcMethods, type ChainRpcServices } from "./rpc-chain-methods.js";

const HASH_RE = /^[0-9a-f]{64}$/;
const MAX_RECENT_BLOCKS = 100;

function blockView(chain: RpcServices["chain"], entry: BlockIndexEntry, block: Block, prefix: string) {
  return {
    hash: entry.hashHex,
    height: entry.height,
    mainChain: chain.isOnMainChain(entry),
    confirmations: chain.isOnMainChain(entry) ? chain.height - entry.height + 1 : 0,
    chainWork: `0x${entry.chainWork.toString(16)}`,
    header: headerToJson(block.header),
    txs: block.txs.map((tx) => transactionToJson(tx, prefix)),
  };
}

/** A reorg report as the API shows it (getReorgs, the `reorg` event). */
export function reorgView(r: ReorgEvent) {
  return {
    depth: r.depth,
    forkPoint: r.forkPoint,
    oldTip: r.oldTip,
    newTip: r.newTip,
    disconnected: r.disconnected,
    connected: r.connected,
    returnedTransactions: r.returnedTransactions.map((tx) => toHex(transactionId(tx))),
  };
}

function address(params: RpcParams, prefix: string): Uint8Array {
  try {
    return decodeAddress(prefix, stringParam(params, "address"));
  } catch (err) {
    if (err instanceof AddressError)
      throw new RpcError(RpcErrorCode.INVALID_PARAMS, err.message, { code: err.code });
    throw err;
  }
}

/** What the RPC methods read and call, and nothing more. */
export interface RpcServices {
  chain: Pick<
    Chain,
    | "networkParams"
    | "tip"
    | "height"
    | "isOnMainChain"
    | "entryAtHeight"
    | "getEntry"
    | "getBlock"
    | "mainChainRange"
    | "getTransaction"
    | "getAccounts"
    | "halted"
    | "settled"
  >;
  mempool: Pick<Mempool, "size" | "bytes" | "get" | "all" | "add" | "info" | "ids">;
  host: Pick<
    NetworkHost,
    | "peerId"
    | "connectedPeers"
    | "multiaddrs"
    | "publishTx"
    | "reputation"
    | "securityLog"
    | "control"
    | "natStatus"
  >;
  sync: Pick<SyncManager, "progress" | "peerStatus">;
  producer: Pick<BlockProducer, "running" | "blocksMined"> | undefined;
  miner: Pick<MinerPool, "hashrate" | "threads"> | undefined;
  /** recent reorganisations, oldest first */
  reorgs: readonly ReorgEvent[];
  /** writes a consistent backup of the datadir into a new directory (absolute path) */
  backup: (targetDir: string) => Promise<BackupReport>;
  /** the datadir's free space at the last check */
  disk?: { readonly free: number | undefined };
}

/** The JSON-RPC methods of a running node; read-only ones are also REST GETs at /api/<name>. */

export function buildRpcMethods(
  node: RpcServices & ChainRpcServices & AddressRpcServices,
  control: { stop: () => void },
): RpcMethodTable {
  const { chain, mempool, host, sync } = node;
  const prefix = chain.networkParams.addressPrefix;
  let backupRunning = false;

  /** null, or why the chain stopped storing blocks (docs/RELIABILITY.md). */
  const haltView = () => {
    const halt = chain.halted;
    return halt
      ? { code: halt.code, reason: halt.reason, since: new Date(halt.sinceMs).toISOString() }
      : null;
  };

  const status = async () => {
    const tip = chain.tip;
    const progress = sync.progress();
    return {
      network: chain.networkParams.name,
      peerId: host.peerId,
      height: tip.height,
      tip: tip.hashHex,
      chainWork: `0x${tip.chainWork.toString(16)}`,
      tipTime: tip.header.time,
      peers: host.connectedPeers().length,
      syncing: progress.syncing,
      sync: progress,
      mining: node.producer?.running ?? false,
      hashrate: node.miner?.hashrate ?? 0,
      mempool: { size: mempool.size, bytes: mempool.bytes },
      listen: host.multiaddrs(),
      halted: haltView(),
      datadirFreeBytes: node.disk?.free ?? null,
    };
  };

  const methods = withStoreErrors({
    ...buildPeerRpcMethods(node),
    // the operator's chain methods and external mining (rpc-chain-methods.ts)
    ...buildChainRpcMethods(node),
    // the address index (rpc-address-methods.ts)
    ...buildAddressRpcMethods(node),
    getStatus: {
      summary: "height, tip, peers, sync progress, mining, mempool, halted (why blocks are not stored)",
      readOnly: true,
      handler: status,
    },
    getBlock: {
      summary: "a block by hash, by height, or 'tip' (param: id)",
      readOnly: true,
      params: ["id"],
      async handler(params) {
        const id = stringParam(params, "id");
        let entry: BlockIndexEntry | undefined;
        if (id === "tip") entry = chain.tip;
        else if (/^\d+$/.test(id)) entry = chain.entryAtHeight(Number(id));
        else if (HASH_RE.test(id)) entry = chain.getEntry(id);
        else throw new RpcError(RpcErrorCode.INVALID_PARAMS, "id must be a block hash, a height or 'tip'");
        const block = entry ? await chain.getBlock(entry.hashHex) : undefined;
        if (!entry || !block) throw new RpcError(RpcErrorCode.NOT_FOUND, `no block ${id}`);
        return blockView(chain, entry, block, prefix);
      },
    },
    getRecentBlocks: {
      summary: "the newest main-chain blocks, tip first: height, hash, time, tx count (param: count, 1-100)",
      readOnly: true,
      params: ["count"],
      async handler(params) {
        const count = optionalIntParam(params, "count", 1, MAX_RECENT_BLOCKS) ?? 10;
        const entries = chain.mainChainRange(Math.max(0, chain.height - count + 1), count).reverse();
        const blocks = await Promise.all(entries.map((e) => chain.getBlock(e.hashHex)));
        return entries.map((entry, i) => ({
          height: entry.height,
          hash: entry.hashHex,
          time: entry.header.time,
          bits: `0x${entry.header.bits.toString(16).padStart(8, "0")}`,
          txs: blocks[i]?.txs.length ?? 0,
        }));
      },
    },
    getTransaction: {
      summary: "a transaction by id: from the main chain or the mempool (param: id)",
      readOnly: true,
      params: ["id"],
      async handler(params) {
        const id = stringParam(params, "id");
        if (!HASH_RE.test(id)) throw new RpcError(RpcErrorCode.INVALID_PARAMS, "id must be a 64-hex tx id");
        const pending = mempool.get(id);
        if (pending) return { ...transactionToJson(pending, prefix), status: "pending" };
        const found = await chain.getTransaction(id);
        if (!found) throw new RpcError(RpcErrorCode.NOT_FOUND, `no transaction ${id}`);
        return {
          ...transactionToJson(found.tx, prefix),
          status: "confirmed",
          blockHash: found.blockHash,
          height: found.height,
          confirmations: chain.height - found.height + 1,
        };
      },
    },
    getAccount: {
      summary: "balance and nonce at the tip, and the next nonce counting the mempool (param: address)",
      readOnly: true,
      params: ["address"],
      async handler(params) {
        const id = address(params, prefix);
        const account = (await chain.getAccounts([id])).get(toHex(id)) ?? { balance: 0n, nonce: 0n };
        // The next free nonce: the account's, moved past the sender's consecutive pooled transfers,
        // so `quarry tx send` can queue several transfers without waiting for a block.
        const pooled = new Set<bigint>();
        for (const tx of mempool.all()) if (equalBytes(senderOf(tx), id)) pooled.add(tx.nonce);
        let pendingNonce = account.nonce;
        while (pooled.has(pendingNonce)) pendingNonce++;
        return {
          address: encodeAddress(prefix, id),
          balance: account.balance,
          nonce: account.nonce,
          pendingNonce,
          height: chain.height,
        };
      },
    },
    sendRawTransaction: {
      summary: "submit a signed transfer (param: hex); returns its id",
      readOnly: false,
      params: ["hex"],
      async handler(params) {
        const hex = stringParam(params, "hex");
        let bytes: Uint8Array;
        try {
          bytes = fromHex(hex);
        } catch {
          throw new RpcError(RpcErrorCode.INVALID_PARAMS, "hex must be even-length hex");
        }
        try {
          const tx = decodeTransaction(bytes);
          if (tx.type !== TxType.Transfer)
            throw new RpcError(RpcErrorCode.INVALID_PARAMS, "only transfers can be sent");
          const result = await mempool.add(tx);
          await host.publishTx(encodeTransaction(tx)).catch(() => 0);
          return { id: result.id, executable: result.executable, replaced: result.replaced ?? null };
        } catch (err) {
          if (err instanceof CodecError || err instanceof ValidationError) {
            throw new RpcError(RpcErrorCode.REJECTED, err.message, { code: err.code });
          }
          throw err;
        }
      },
    },
    getMempool: {
      summary: "mempool counts and limits; with txs=1 the transaction ids",
      readOnly: true,
      params: ["txs"],
      async handler(params) {
        const txs = params.txs;
        const list = txs === true || txs === "1" || txs === "true";
        if (txs !== undefined && !list && txs !== false && txs !== "0" && txs !== "false")
          throw new RpcError(RpcErrorCode.INVALID_PARAMS, "parameter 'txs' must be true, false, '1' or '0'", {
            param: "txs",
          });
        return { ...mempool.info(), ...(list ? { txs: mempool.ids() } : {}) };
      },
    },
    getMiningInfo: {
      summary: "whether this node mines, hashrate (H/s), blocks mined",
      readOnly: true,
      async handler() {
        return {
          mining: node.producer?.running ?? false,
          threads: node.miner?.threads ?? 0,
          hashrate: node.miner?.hashrate ?? 0,
          blocksMined: node.producer?.blocksMined ?? 0,
          bits: `0x${chain.tip.header.bits.toString(16)}`,
        };
      },
    },
    getReorgs: {
      summary: "recent reorganisations: depth, fork point, old/new tip, returned transactions",
      readOnly: true,
      async handler() {
        return node.reorgs.map(reorgView);
      },
    },
    getSecurityLog: {
      summary: "recent rejected blocks/batches/txs and bans (param: limit)",
      readOnly: true,
      params: ["limit"],
      async handler(params) {
        return host.securityLog.recent(optionalIntParam(params, "limit", 1, 1000) ?? 100);
      },
    },
    backup: {
      summary:
        "copy chain, mempool, peers, keystore and node key into a new directory, with a manifest (param: dir, absolute)",
      readOnly: false,
      params: ["dir"],
      async handler(params) {
        const dir = stringParam(params, "dir");
        if (!isAbsolute(dir))
          throw new RpcError(
            RpcErrorCode.INVALID_PARAMS,
            "dir must be an absolute path on the node's machine",
          );
        if (backupRunning) throw new RpcError(RpcErrorCode.REJECTED, "a backup is already running");
        backupRunning = true;
        try {
          return await node.backup(dir);
        } catch (err) {
          if (err instanceof MaintenanceError)
            throw new RpcError(RpcErrorCode.REJECTED, err.message, { code: err.code });
          throw err;
        } finally {
          backupRunning = false;
        }
      },
    },
    stop: {
      summary: "stop the node cleanly",
      readOnly: false,
      async handler() {
        setImmediate(control.stop);
        return "stopping";
      },
    },
  });
  return answerBetweenReorgs(chain, methods);
}

/**
 * Read-only methods answer once a reorg in progress has landed (`chain.settled()`): between a
 * reorg's writes the main chain ends at the fork point and the accounts are half rolled back, a
 * state nobody outside should be told the node is in (Bitcoin Core's RPC takes the lock a reorg's
 * disconnects run under). State-changing methods run at once: the chain serialises them.
 */
export function answerBetweenReorgs(chain: Pick<Chain, "settled">, table: RpcMethodTable): RpcMethodTable {
  const out: RpcMethodTable = {};
  for (const [name, method] of Object.entries(table)) {
    out[name] = method.readOnly
      ? {
          ...method,
          async handler(params) {
            await chain.settled();
            return method.handler(params);
          },
        }
      : method;
  }
  return out;
}

/**
 * A store failure (a corrupt record: the chain halts on it; a halted chain) answers a typed error
 * (STORE_FAILED, data.code the store's code, REST 503) instead of an internal error.
 */
function withStoreErrors(table: RpcMethodTable): RpcMethodTable {
  const out: RpcMethodTable = {};
  for (const [name, method] of Object.entries(table)) {
    out[name] = {
      ...method,
      async handler(params) {
        try {
          return await method.handler(params);
        } catch (err) {
          if (err instanceof StoreError) {
            throw new RpcError(RpcErrorCode.STORE_FAILED, err.message, { code: err.type.code });
          }
          throw err;
        }
      },
    };
  }
  return out;
}
