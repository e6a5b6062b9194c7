import {
  optionalIntParam,
  RpcError,
  RpcErrorCode,
  type RpcMethodTable,
  type RpcParams,
  stringParam,
} from "../api/index.js";
import type { Chain } from "../chain/index.js";
import { blockSubsidy, compactToTarget } from "../consensus/index.js";
import type { Mempool } from "../mempool/index.js";
import type { NetworkHost } from "../network/index.js";
import type { NodeOptions } from "../options.js";
import {
  AddressError,
  blockEnvelope,
  CodecError,
  type CoinbaseTx,
  type DecodedBlock,
  decodeAddress,
  decodeBlockEnvelope,
  decodeHeader,
  encodeAddress,
  encodeBlock,
  encodeHeader,
  encodeTransaction,
  fromHex,
  HEADER_NONCE_OFFSET,
  HEADER_SIZE,
  HEADER_TIME_OFFSET,
  headerToJson,
  MAX_BLOCK_BYTES_DECODE,
  sha256,
  TRANSFER_SIZE,
  toHex,
  transactionId,
  transactionSize,
  transactionToJson,
} from "../primitives/index.js";
import { type BlockIndexEntry, BlockStatus } from "../store/index.js";
import { syncProtocolIds } from "../sync/index.js";
import { nowSeconds, ValidationError } from "../util/index.js";
import type { BlockTemplates, BuiltTemplate } from "./block-templates.js";
import {
  estimateFee,
  FEE_ESTIMATE_BLOCKS,
  FEE_ESTIMATE_MAX_TARGET,
  feeAtRate,
  type SampledBlock,
} from "./fee-estimate.js";
import { mempoolProtocolId } from "./mempool-exchange.js";

const HASH_RE = /^[0-9a-f]{64}$/;
const MAX_HEIGHT = 0xffff_ffff;
/** Longest a getBlockTemplate long poll waits when the caller names no `maxWait`. */
export const LONGPOLL_DEFAULT_WAIT_SECONDS = 30;
export const LONGPOLL_MAX_WAIT_SECONDS = 120;
/** Bytes the block producer leaves free besides the transfers (see block-templates.ts). */
const BLOCK_OVERHEAD_BYTES = 1024;

/** Why submitBlock refused a block before the chain looked at it (data.code of a -32002). */
export const SubmitBlockCode = {
  /** the block's parent is not this node's tip: the template it was mined on is stale */
  STALE: "SUBMIT_STALE_TEMPLATE",
  /** the block's parent is unknown here */
  UNKNOWN_PARENT: "SUBMIT_UNKNOWN_PARENT",
  /** this node has the block already */
  DUPLICATE: "SUBMIT_DUPLICATE",
  /** a header alone was submitted, and it belongs to no template this node handed out lately */
  UNKNOWN_TEMPLATE: "SUBMIT_UNKNOWN_TEMPLATE",
} as const;

/** What the operator and miner methods read and call, and nothing more. */
export interface ChainRpcServices {
  options: Pick<NodeOptions, "announce" | "minPeers" | "maxPeers">;
  chain: Pick<
    Chain,
    | "networkParams"
    | "clock"
    | "tip"
    | "height"
    | "getEntry"
    | "entryAtHeight"
    | "isOnMainChain"
    | "getBlock"
    | "mainChainRange"
    | "medianTimePast"
    | "chainTips"
    | "invalidateBlock"
    | "reconsiderBlock"
    | "processBlock"
  >;
  mempool: Pick<Mempool, "describe" | "minFeePerKb" | "selectForBlock" | "info">;
  host: Pick<NetworkHost, "peerId" | "multiaddrs" | "connectedPeers" | "publishBlock">;
  templates: Pick<BlockTemplates, "longpollId" | "waitForChange" | "template" | "blockFor">;
}

function invalidParam(name: string, message: string): RpcError {
  return new RpcError(RpcErrorCode.INVALID_PARAMS, message, { param: name });
}

function hashParam(params: RpcParams, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || !HASH_RE.test(value)) {
    throw invalidParam(name, `parameter '${name}' must be a 64-hex block hash`);
  }
  return value;
}

function requiredIntParam(params: RpcParams, name: string, min: number, max: number): number {
  const n = optionalIntParam(params, name, min, max);
  if (n === undefined) throw invalidParam(name, `parameter '${name}' is required`);
  return n;
}

function statusName(chain: ChainRpcServices["chain"], entry: BlockIndexEntry): string {
  if (chain.isOnMainChain(entry)) return "active";
  switch (entry.status) {
    case BlockStatus.Valid:
      return "valid-fork";
    case BlockStatus.Data:
      return "valid-headers";
    default:
      return "invalid";
  }
}

/** The methods of docs/API.md "Chain and operator methods" and "External mining". */
export function buildChainRpcMethods(node: ChainRpcServices): RpcMethodTable {
  const { chain, mempool, host, templates } = node;
  const params = chain.networkParams;
  const prefix = params.addressPrefix;
  let recent: { tip: string; blocks: SampledBlock[] } | undefined;

  const entryById = (p: RpcParams): BlockIndexEntry => {
    const id = stringParam(p, "id");
    let entry: BlockIndexEntry | undefined;
    if (id === "tip") entry = chain.tip;
    else if (/^\d{1,10}$/.test(id)) entry = chain.entryAtHeight(Number(id));
    else if (HASH_RE.test(id)) entry = chain.getEntry(id);
    else throw invalidParam("id", "parameter 'id' must be a block hash, a height or 'tip'");
    if (!entry) throw new RpcError(RpcErrorCode.NOT_FOUND, `no block ${id}`);
    return entry;
  };

  const knownEntry = (p: RpcParams): BlockIndexEntry => {
    const hash = hashParam(p, "hash");
    const entry = chain.getEntry(hash);
    if (!entry) throw new RpcError(RpcErrorCode.NOT_FOUND, `no block ${hash}`);
    return entry;
  };

  const tipView = () => ({ tip: chain.tip.hashHex, height: chain.height });

  const recentBlocks = async (): Promise<SampledBlock[]> => {
    if (recent?.tip === chain.tip.hashHex) return recent.blocks;
    const tip = chain.tip.hashHex;
    const entries = chain.mainChainRange(
      Math.max(1, chain.height - FEE_ESTIMATE_BLOCKS + 1),
      FEE_ESTIMATE_BLOCKS,
    );
    const blocks: SampledBlock[] = [];
    for (const entry of entries) {
      const block = await chain.getBlock(entry.hashHex);
      if (!block) continue;
      const transfers = block.txs
        .slice(1)
        .map((tx) => ({ fee: "fee" in tx ? tx.fee : 0n, size: transactionSize(tx) }));
      const bytes = transfers.reduce((sum, t) => sum + t.size, 0);
      const full =
        transfers.length >= params.maxBlockTxs - 1 ||
        bytes + TRANSFER_SIZE > params.maxBlockBytes - BLOCK_OVERHEAD_BYTES;
      blocks.push({ transfers, full });
    }
    recent = { tip, blocks };
    return blocks;
  };

  const templateView = (built: BuiltTemplate) => {
    const { block } = built;
    const blockBytes = encodeBlock(block);
    const header = block.header;
    const parent = chain.getEntry(toHex(header.prevHash));
    const coinbase = block.txs[0] as CoinbaseTx;
    const transfers = block.txs.slice(1);
    const fees = transfers.reduce((sum, tx) => sum + ("fee" in tx ? tx.fee : 0n), 0n);
    const height = coinbase.height;
    return {
      // names the unsolved block (not a block id: nonce 0 may well solve an easy target)
      templateId: toHex(sha256(blockBytes)),
      longpollid: built.longpollId,
      height,
      previousBlockHash: toHex(header.prevHash),
      version: header.version,
      time: header.time,
      minTime: parent ? chain.medianTimePast(parent) + 1 : header.time,
      maxTime: nowSeconds(chain.clock) + params.maxFutureBlockTimeSeconds,
      bits: `0x${header.bits.toString(16).padStart(8, "0")}`,
      target: compactToTarget(header.bits).target.toString(16).padStart(64, "0"),
      merkleRoot: toHex(header.merkleRoot),
      stateRoot: toHex(header.stateRoot),
      headerSize: HEADER_SIZE,
      nonceOffset: HEADER_NONCE_OFFSET,
      timeOffset: HEADER_TIME_OFFSET,
      header: toHex(encodeHeader(header)),
      block: toHex(blockBytes),
      coinbase: {
        recipient: encodeAddress(prefix, coinbase.recipient),
        amount: coinbase.amount,
        subsidy: blockSubsidy(height, params),
        fees,
        hex: toHex(encodeTransaction(coinbase)),
      },
      transactions: transfers.map((tx) => ({
        id: toHex(transactionId(tx)),
        fee: "fee" in tx ? tx.fee : 0n,
        size: transactionSize(tx),
        hex: toHex(encodeTransaction(tx)),
      })),
    };
  };

  return {
    getBlockHeader: {
      summary: "a block's header and index entry by hash, height or 'tip', any branch (param: id)",
      readOnly: true,
      params: ["id"],
      async handler(p) {
        const entry = entryById(p);
        const onMain = chain.isOnMainChain(entry);
        const next = onMain ? chain.entryAtHeight(entry.height + 1) : undefined;
        return {
          hash: entry.hashHex,
          height: entry.height,
          status: statusName(chain, entry),
          ...(entry.invalidCode ? { invalidCode: entry.invalidCode } : {}),
          mainChain: onMain,
          confirmations: onMain ? chain.height - entry.height + 1 : 0,
          chainWork: `0x${entry.chainWork.toString(16)}`,
          nextBlockHash: next?.hashHex ?? null,
          header: headerToJson(entry.header),
          hex: toHex(encodeHeader(entry.header)),
        };
      },
    },
    getBlockHash: {
      summary: "the main-chain block hash at a height (param: height)",
      readOnly: true,
      params: ["height"],
      async handler(p) {
        const height = requiredIntParam(p, "height", 0, MAX_HEIGHT);
        const entry = chain.entryAtHeight(height);
        if (!entry) throw new RpcError(RpcErrorCode.NOT_FOUND, `no main-chain block at height ${height}`);
        return entry.hashHex;
      },
    },
    getChainTips: {
      summary: "every known branch tip: height, hash, work, branch length, status",
      readOnly: true,
      async handler() {
        return chain
          .chainTips()
          .sort((a, b) =>
            a.entry.chainWork > b.entry.chainWork ? -1 : a.entry.chainWork < b.entry.chainWork ? 1 : 0,
          )
          .map(({ entry, fork }) => ({
            height: entry.height,
            hash: entry.hashHex,
            chainWork: `0x${entry.chainWork.toString(16)}`,
            branchLength: entry.height - fork.height,
            forkHeight: fork.height,
            status: statusName(chain, entry),
            ...(entry.invalidCode ? { invalidCode: entry.invalidCode } : {}),
          }));
      },
    },
    getNetworkInfo: {
      summary: "network, genesis, protocols, peer id, listen/announce addresses, connections, relay limits",
      readOnly: true,
      async handler() {
        const info = mempool.info();
        return {
          network: params.name,
          networkId: params.networkId,
          genesis: chain.entryAtHeight(0)?.hashHex ?? null,
          protocols: {
            blocks: params.blockTopic,
            txs: params.txTopic,
            dht: params.dhtProtocol,
            mempool: mempoolProtocolId(params.name),
            sync: syncProtocolIds(params.name),
          },
          peerId: host.peerId,
          listen: host.multiaddrs(),
          announce: node.options.announce,
          connections: host.connectedPeers().length,
          minPeers: node.options.minPeers,
          maxPeers: node.options.maxPeers,
          relay: {
            minFeePerKb: mempool.minFeePerKb,
            mempoolMaxTxs: info.maxTxs,
            mempoolMaxBytes: info.maxBytes,
            maxBlockBytes: params.maxBlockBytes,
            maxBlockTxs: params.maxBlockTxs,
          },
        };
      },
    },
    getMempoolEntry: {
      summary: "one pooled transaction: fee, size, fee rate, age, executable (param: id)",
      readOnly: true,
      params: ["id"],
      async handler(p) {
        const id = p.id;
        if (typeof id !== "string" || !HASH_RE.test(id))
          throw invalidParam("id", "parameter 'id' must be a 64-hex tx id");
        const entry = mempool.describe(id);
        if (!entry) throw new RpcError(RpcErrorCode.NOT_FOUND, `no transaction ${id} in the mempool`);
        return {
          id,
          size: entry.size,
          fee: entry.fee,
          feePerKb: (entry.fee * 1000n) / BigInt(entry.size),
          addedAt: Math.floor(entry.addedAtMs / 1000),
          executable: entry.executable,
          tx: transactionToJson(entry.tx, prefix),
        };
      },
    },
    estimateFee: {
      summary: `fee rate (per 1000 bytes) and transfer fee for inclusion within N blocks (param: nBlocks, 1-${FEE_ESTIMATE_MAX_TARGET})`,
      readOnly: true,
      params: ["nBlocks"],
      async handler(p) {
        const nBlocks = requiredIntParam(p, "nBlocks", 1, FEE_ESTIMATE_MAX_TARGET);
        const budget = params.maxBlockBytes - BLOCK_OVERHEAD_BYTES;
        const maxTxs = nBlocks * (params.maxBlockTxs - 1);
        const ranked = mempool.selectForBlock(maxTxs, nBlocks * budget);
        const bytes = ranked.reduce((sum, tx) => sum + transactionSize(tx), 0);
        const estimate = estimateFee({
          nBlocks,
          minFeePerKb: mempool.minFeePerKb,
          mempoolRanked: ranked.map((tx) => ({ fee: tx.fee, size: transactionSize(tx) })),
          mempoolFillsTarget: ranked.length >= maxTxs || bytes + TRANSFER_SIZE > nBlocks * budget,
          recentBlocks: await recentBlocks(),
        });
        return {
          ...estimate,
          transferFee: feeAtRate(estimate.feePerKb, TRANSFER_SIZE),
          transferSize: TRANSFER_SIZE,
        };
      },
    },
    invalidateBlock: {
      summary:
        "mark a block and its descendants invalid (persisted); leaves it if on the main chain (param: hash)",
      readOnly: false,
      params: ["hash"],
      async handler(p) {
        const entry = knownEntry(p);
        if (entry.height === 0) throw invalidParam("hash", "genesis cannot be invalidated");
        const failures = await chain.invalidateBlock(entry.hashHex);
        return {
          invalidated: entry.hashHex,
          ...tipView(),
          failures: [...failures].map(([hash, err]) => ({ hash, code: err.code })),
        };
      },
    },
    reconsiderBlock: {
      summary:
        "clear the invalid marks of a block, its ancestors and descendants; re-run fork choice (param: hash)",
      readOnly: false,
      params: ["hash"],
      async handler(p) {
        const entry = knownEntry(p);
        const { cleared, failures } = await chain.reconsiderBlock(entry.hashHex);
        return {
          reconsidered: entry.hashHex,
          cleared,
          ...tipView(),
          failures: [...failures].map(([hash, err]) => ({ hash, code: err.code })),
        };
      },
    },
    getBlockTemplate: {
      summary: `an unsolved block paying 'address' for an external miner; with 'longpollid' waits for a change (up to maxWait s, default ${LONGPOLL_DEFAULT_WAIT_SECONDS})`,
      readOnly: false,
      params: ["address", "longpollid", "maxWait"],
      async handler(p) {
        let recipient: Uint8Array;
        try {
          recipient = decodeAddress(prefix, stringParam(p, "address"));
        } catch (err) {
          if (err instanceof AddressError)
            throw new RpcError(RpcErrorCode.INVALID_PARAMS, `parameter 'address': ${err.message}`, {
              param: "address",
              code: err.code,
            });
          throw err;
        }
        const longpollid = p.longpollid;
        if (longpollid !== undefined && (typeof longpollid !== "string" || longpollid.length > 200)) {
          throw invalidParam(
            "longpollid",
            "parameter 'longpollid' must be a string from a previous template",
          );
        }
        const maxWait =
          optionalIntParam(p, "maxWait", 1, LONGPOLL_MAX_WAIT_SECONDS) ?? LONGPOLL_DEFAULT_WAIT_SECONDS;
        if (longpollid !== undefined) await templates.waitForChange(longpollid, maxWait * 1000);
        return templateView(await templates.template(recipient));
      },
    },
    submitBlock: {
      summary:
        "submit a solved block, or just the solved header of a recent template (param: hex); answers accepted, or -32002 with the error code",
      readOnly: false,
      params: ["hex"],
      async handler(p) {
        const hex = stringParam(p, "hex");
        if (hex.length > 2 * MAX_BLOCK_BYTES_DECODE)
          throw invalidParam("hex", "parameter 'hex' is longer than any block");
        let decoded: DecodedBlock;
        try {
          const bytes = fromHex(hex);
          if (bytes.length === HEADER_SIZE) {
            // A solved header of a template this node handed out: the block is its transactions.
            const block = templates.blockFor(decodeHeader(bytes));
            if (!block)
              throw new RpcError(RpcErrorCode.REJECTED, "the header belongs to no recent template", {
                code: SubmitBlockCode.UNKNOWN_TEMPLATE,
              });
            decoded = blockEnvelope(block);
          } else {
            decoded = decodeBlockEnvelope(bytes);
          }
        } catch (err) {
          if (err instanceof RpcError) throw err;
          if (err instanceof CodecError)
            throw new RpcError(RpcErrorCode.REJECTED, err.message, { code: err.code });
          throw invalidParam("hex", "parameter 'hex' must be even-length hex");
        }
        const parentHex = toHex(decoded.block.header.prevHash);
        const parent = chain.getEntry(parentHex);
        if (chain.getEntry(decoded.hashHex))
          throw new RpcError(RpcErrorCode.REJECTED, `block ${decoded.hashHex} is known`, {
            code: SubmitBlockCode.DUPLICATE,
          });
        if (!parent)
          throw new RpcError(RpcErrorCode.REJECTED, `parent ${parentHex} is unknown`, {
            code: SubmitBlockCode.UNKNOWN_PARENT,
          });
        if (parent !== chain.tip)
          throw new RpcError(
            RpcErrorCode.REJECTED,
            `parent ${parentHex} is not the tip: the template is stale`,
            {
              code: SubmitBlockCode.STALE,
            },
          );
        let result: Awaited<ReturnType<Chain["processBlock"]>>;
        try {
          result = await chain.processBlock(decoded);
        } catch (err) {
          if (err instanceof ValidationError)
            throw new RpcError(RpcErrorCode.REJECTED, err.message, { code: err.code });
          throw err;
        }
        if (result.status === "duplicate")
          throw new RpcError(RpcErrorCode.REJECTED, `block ${decoded.hashHex} is known`, {
            code: SubmitBlockCode.DUPLICATE,
          });
        if (result.status === "connected") await host.publishBlock(decoded.bytes).catch(() => 0);
        return {
          result: result.status === "connected" ? "accepted" : result.status,
          hash: decoded.hashHex,
          height: result.height ?? null,
        };
      },
    },
  };
}
