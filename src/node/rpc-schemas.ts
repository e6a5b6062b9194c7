import type { JsonSchema, MethodSchema } from "../api/index.js";
import { LONGPOLL_MAX_WAIT_SECONDS } from "./rpc-chain-methods.js";

/**
 * The one description of every JSON-RPC method's parameters and result (JSON Schema 2020-12), from
 * which GET /openapi.json is built (src/api/openapi.ts). `buildOpenApiDocument` refuses a method
 * table whose names or parameter lists differ from this table, so `createNode` fails (and
 * test/unit/node/rpc-schemas.test.ts fails) when a method is added without its entry here.
 *
 * Adding a method: one entry in RPC_SCHEMAS, params in the method's positional order.
 * Schemas are self-contained (no $ref), so a client or a test can compile each on its own.
 */

/** The version of the API description (info.version of GET /openapi.json). */
export const API_VERSION = "1.0.0";

const hex64: JsonSchema = { type: "string", pattern: "^[0-9a-f]{64}$" };
const hex: JsonSchema = { type: "string", pattern: "^([0-9a-f]{2})*$" };
/** a 64-bit quantity as a decimal string (amounts, nonces, fees) */
const decimal: JsonSchema = { type: "string", pattern: "^[0-9]+$" };
/** chain work: 0x + lowercase hex */
const work: JsonSchema = { type: "string", pattern: "^0x[0-9a-f]+$" };
const bits: JsonSchema = { type: "string", pattern: "^0x[0-9a-f]{8}$" };
const uint: JsonSchema = { type: "integer", minimum: 0 };
const address: JsonSchema = { type: "string", pattern: "^[a-z]+1[02-9ac-hj-np-z]+$" };
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: "null" }] });
const array = (items: JsonSchema): JsonSchema => ({ type: "array", items });

/** An object with exactly these members (all required unless listed in `optional`). */
function object(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return {
    type: "object",
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

/** An integer in [min, max], as a JSON number or a decimal string (REST passes strings). */
function intOrDecimal(min: number, max: number): JsonSchema {
  return { anyOf: [{ type: "integer", minimum: min, maximum: max }, decimal] };
}

const header = object({
  version: uint,
  prevHash: hex64,
  merkleRoot: hex64,
  stateRoot: hex64,
  time: uint,
  bits,
  nonce: decimal,
});

const coinbaseTx = object({
  id: hex64,
  type: { const: "coinbase" },
  networkId: uint,
  height: uint,
  recipient: address,
  amount: decimal,
});
const transferTx = object({
  id: hex64,
  type: { const: "transfer" },
  networkId: uint,
  sender: address,
  senderPublicKey: hex64,
  recipient: address,
  amount: decimal,
  fee: decimal,
  nonce: decimal,
  signature: { type: "string", pattern: "^[0-9a-f]{128}$" },
});
const tx: JsonSchema = { oneOf: [coinbaseTx, transferTx] };
const blockRef = object({ height: uint, hash: hex64 });

const banView: JsonSchema = {
  oneOf: [
    object({
      kind: { const: "peer" },
      target: { type: "string" },
      peerId: { type: "string" },
      code: { type: "string" },
      reason: { type: "string" },
      sinceMs: uint,
      untilMs: uint,
    }),
    object({
      kind: { const: "address" },
      target: { type: "string" },
      address: { type: "string" },
      code: { type: "string" },
      reason: { type: "string" },
      sinceMs: uint,
      untilMs: uint,
    }),
  ],
};

const syncStage = object({ height: uint, targetHeight: uint });

const syncProgress = object({
  syncing: { type: "boolean" },
  height: uint,
  targetHeight: uint,
  headers: syncStage,
  blocks: syncStage,
  blocksPerSecond: { type: "number", minimum: 0 },
  etaSeconds: nullable({ type: "number" }),
  peers: uint,
  bufferedBytes: uint,
});

const mempoolInfo = {
  size: uint,
  bytes: uint,
  executable: uint,
  waiting: uint,
  senders: uint,
  maxTxs: uint,
  maxBytes: uint,
  minFeePerKb: decimal,
};

const natStatus = object(
  {
    mode: { type: "string" },
    reachability: { enum: ["local", "public", "private"] },
    relayAddresses: array({ type: "string" }),
    dhtMode: { enum: ["client", "server"] },
    relayedConnections: uint,
    relayedPeers: array({ type: "string" }),
    gossipDirectPeers: array({ type: "string" }),
    relayedDeliveries: object({ block: uint, tx: uint }),
    // gossiped blocks accepted first from each peer (peer id -> count), the last 64 peers
    blockDeliveriesByPeer: { type: "object", additionalProperties: uint },
    directUnreachablePeers: uint,
    relayReachableAfterMs: { type: "number" },
    relayedBlockMeshPeers: array({ type: "string" }),
  },
  ["relayReachableAfterMs"],
);

const peerView = object({
  peerId: { type: "string" },
  address: { type: "string" },
  direction: { enum: ["inbound", "outbound"] },
  connectedSinceMs: uint,
  connections: uint,
  latencyMs: nullable({ type: "number" }),
  agent: nullable({ type: "string" }),
  protocols: array({ type: "string" }),
  score: { type: "number" },
  bytesIn: uint,
  bytesOut: uint,
  height: nullable(uint),
  chainWork: nullable(work),
  tip: nullable(hex64),
});

const failures = array(object({ hash: hex64, code: { type: "string" } }));

/** Every method of the node: params (positional order) and result. */
export const RPC_SCHEMAS: Record<string, MethodSchema> = {
  getStatus: {
    result: object({
      network: { type: "string" },
      peerId: { type: "string" },
      height: uint,
      tip: hex64,
      chainWork: work,
      tipTime: uint,
      peers: uint,
      syncing: { type: "boolean" },
      sync: syncProgress,
      mining: { type: "boolean" },
      hashrate: { type: "number", minimum: 0 },
      mempool: object({ size: uint, bytes: uint }),
      listen: array({ type: "string" }),
      halted: nullable(
        object({ code: { type: "string" }, reason: { type: "string" }, since: { type: "string" } }),
      ),
      datadirFreeBytes: nullable({ type: "number" }),
    }),
  },
  getBlock: {
    params: [
      {
        name: "id",
        required: true,
        schema: { type: "string", pattern: "^([0-9a-f]{64}|[0-9]+|tip)$" },
        description: "block hash, height (decimal) or 'tip'",
      },
    ],
    result: object({
      hash: hex64,
      height: uint,
      mainChain: { type: "boolean" },
      confirmations: uint,
      chainWork: work,
      header,
      txs: array(tx),
    }),
  },
  getRecentBlocks: {
    params: [{ name: "count", schema: intOrDecimal(1, 100), description: "1-100, default 10" }],
    result: array(object({ height: uint, hash: hex64, time: uint, bits, txs: uint })),
  },
  getTransaction: {
    params: [{ name: "id", required: true, schema: hex64, description: "tx id" }],
    result: {
      oneOf: [
        withStatus(transferTx, { status: { const: "pending" } }),
        withStatus(transferTx, confirmedFields()),
        withStatus(coinbaseTx, confirmedFields()),
      ],
    },
  },
  getAccount: {
    params: [{ name: "address", required: true, schema: address }],
    result: object({ address, balance: decimal, nonce: decimal, pendingNonce: decimal, height: uint }),
  },
  sendRawTransaction: {
    params: [{ name: "hex", required: true, schema: hex, description: "a signed transfer" }],
    result: object({ id: hex64, executable: { type: "boolean" }, replaced: nullable(hex64) }),
  },
  getMempool: {
    params: [
      {
        name: "txs",
        schema: { anyOf: [{ type: "boolean" }, { type: "string", enum: ["1", "0", "true", "false"] }] },
        description: "true or '1': list the pooled tx ids",
      },
    ],
    result: object({ ...mempoolInfo, txs: array(hex64) }, ["txs"]),
  },
  getPeers: {
    result: object({
      peerId: { type: "string" },
      listen: array({ type: "string" }),
      connected: array({ type: "string" }),
      peers: array(peerView),
      bans: array(banView),
      nat: natStatus,
    }),
  },
  getBans: { result: array(banView) },
  banPeer: {
    params: [
      {
        name: "target",
        required: true,
        schema: { type: "string", minLength: 1 },
        description: "peer id or IP",
      },
      { name: "seconds", schema: intOrDecimal(1, 315_360_000) },
      { name: "reason", schema: { type: "string", minLength: 1, maxLength: 200 } },
    ],
    result: banView,
  },
  unbanPeer: {
    params: [{ name: "target", required: true, schema: { type: "string", minLength: 1 } }],
    result: banView,
  },
  connectPeer: {
    params: [
      { name: "address", required: true, schema: { type: "string", minLength: 1 }, description: "multiaddr" },
    ],
    result: object({ peerId: { type: "string" }, address: { type: "string" } }),
  },
  disconnectPeer: {
    params: [{ name: "peerId", required: true, schema: { type: "string", minLength: 1 } }],
    result: object({ disconnected: { type: "string" } }),
  },
  getMiningInfo: {
    result: object({
      mining: { type: "boolean" },
      threads: uint,
      hashrate: { type: "number", minimum: 0 },
      blocksMined: uint,
      // not zero-padded (as getStatus' chainWork)
      bits: work,
    }),
  },
  getReorgs: {
    result: array(
      object({
        depth: uint,
        forkPoint: blockRef,
        oldTip: blockRef,
        newTip: blockRef,
        disconnected: array(blockRef),
        connected: array(blockRef),
        returnedTransactions: array(hex64),
      }),
    ),
  },
  getSecurityLog: {
    params: [{ name: "limit", schema: intOrDecimal(1, 1000), description: "1-1000, default 100" }],
    result: array(
      object(
        {
          seq: uint,
          timeMs: uint,
          peerId: { type: "string" },
          code: { type: "string" },
          kind: { enum: ["block", "tx", "batch", "ban", "frame", "peer"] },
          detail: { type: "object" },
        },
        ["detail"],
      ),
    ),
  },
  backup: {
    params: [
      { name: "dir", required: true, schema: { type: "string", minLength: 1 }, description: "absolute path" },
    ],
    result: object({
      dir: { type: "string" },
      network: { type: "string" },
      tip: object({ hash: hex64, height: uint }),
      files: uint,
      bytes: uint,
      seconds: { type: "number", minimum: 0 },
    }),
  },
  stop: { result: { const: "stopping" } },
  getAddressHistory: {
    params: [
      { name: "address", required: true, schema: address },
      { name: "limit", schema: intOrDecimal(1, 500), description: "1-500, default 25" },
      {
        name: "cursor",
        schema: { type: "string", pattern: "^[0-9]{1,10}:[0-9]{1,5}$" },
        description: "nextCursor of the previous page",
      },
      {
        name: "reverse",
        schema: { anyOf: [{ type: "boolean" }, { type: "string", enum: ["1", "0", "true", "false"] }] },
        description: "newest first",
      },
    ],
    result: object({
      address,
      balance: decimal,
      nonce: decimal,
      height: uint,
      txs: array(
        object({
          txid: hex64,
          height: uint,
          position: uint,
          blockHash: nullable(hex64),
          confirmations: uint,
          direction: { enum: ["in", "out", "self", "coinbase"] },
          amount: decimal,
          fee: decimal,
          delta: { type: "string", pattern: "^-?[0-9]+$" },
          counterparty: nullable(address),
        }),
      ),
      nextCursor: nullable({ type: "string", pattern: "^[0-9]{1,10}:[0-9]{1,5}$" }),
    }),
  },
  getBlockHeader: {
    params: [
      {
        name: "id",
        required: true,
        schema: { type: "string", pattern: "^([0-9a-f]{64}|[0-9]{1,10}|tip)$" },
        description: "block hash (any branch), height or 'tip'",
      },
    ],
    result: object(
      {
        hash: hex64,
        height: uint,
        status: { enum: ["active", "valid-fork", "valid-headers", "invalid"] },
        invalidCode: { type: "string" },
        mainChain: { type: "boolean" },
        confirmations: uint,
        chainWork: work,
        nextBlockHash: nullable(hex64),
        header,
        hex,
      },
      ["invalidCode"],
    ),
  },
  getBlockHash: {
    params: [{ name: "height", required: true, schema: intOrDecimal(0, 0xffff_ffff) }],
    result: hex64,
  },
  getChainTips: {
    result: array(
      object(
        {
          height: uint,
          hash: hex64,
          chainWork: work,
          branchLength: uint,
          forkHeight: uint,
          status: { enum: ["active", "valid-fork", "valid-headers", "invalid"] },
          invalidCode: { type: "string" },
        },
        ["invalidCode"],
      ),
    ),
  },
  getNetworkInfo: {
    result: object({
      network: { type: "string" },
      networkId: uint,
      genesis: nullable(hex64),
      protocols: object({
        blocks: { type: "string" },
        txs: { type: "string" },
        dht: { type: "string" },
        mempool: { type: "string" },
        sync: { type: "object", additionalProperties: { type: "string" } },
      }),
      peerId: { type: "string" },
      listen: array({ type: "string" }),
      announce: array({ type: "string" }),
      connections: uint,
      minPeers: uint,
      maxPeers: uint,
      relay: object({
        minFeePerKb: decimal,
        mempoolMaxTxs: uint,
        mempoolMaxBytes: uint,
        maxBlockBytes: uint,
        maxBlockTxs: uint,
      }),
    }),
  },
  getMempoolEntry: {
    params: [{ name: "id", required: true, schema: hex64, description: "tx id" }],
    result: object({
      id: hex64,
      size: uint,
      fee: decimal,
      feePerKb: decimal,
      addedAt: uint,
      executable: { type: "boolean" },
      tx: transferTx,
    }),
  },
  estimateFee: {
    params: [{ name: "nBlocks", required: true, schema: intOrDecimal(1, 100) }],
    result: object({
      nBlocks: uint,
      feePerKb: decimal,
      mempoolFeePerKb: decimal,
      recentBlocksFeePerKb: decimal,
      blocksSampled: uint,
      minFeePerKb: decimal,
      transferFee: decimal,
      transferSize: uint,
    }),
  },
  invalidateBlock: {
    params: [{ name: "hash", required: true, schema: hex64 }],
    result: object({ invalidated: hex64, tip: hex64, height: uint, failures }),
  },
  reconsiderBlock: {
    params: [{ name: "hash", required: true, schema: hex64 }],
    result: object({ reconsidered: hex64, cleared: array(hex64), tip: hex64, height: uint, failures }),
  },
  getBlockTemplate: {
    params: [
      { name: "address", required: true, schema: address, description: "coinbase recipient" },
      { name: "longpollid", schema: { type: "string", maxLength: 200 } },
      { name: "maxWait", schema: intOrDecimal(1, LONGPOLL_MAX_WAIT_SECONDS), description: "seconds" },
    ],
    result: object({
      templateId: hex64,
      longpollid: { type: "string" },
      height: uint,
      previousBlockHash: hex64,
      version: uint,
      time: uint,
      minTime: uint,
      maxTime: uint,
      bits,
      target: hex64,
      merkleRoot: hex64,
      stateRoot: hex64,
      headerSize: uint,
      nonceOffset: uint,
      timeOffset: uint,
      header: hex,
      block: hex,
      coinbase: object({ recipient: address, amount: decimal, subsidy: decimal, fees: decimal, hex }),
      transactions: array(object({ id: hex64, fee: decimal, size: uint, hex })),
    }),
  },
  submitBlock: {
    params: [
      {
        name: "hex",
        required: true,
        schema: hex,
        description: "a solved block, or a template's solved header",
      },
    ],
    result: object({ result: { type: "string" }, hash: hex64, height: nullable(uint) }),
  },
};

function confirmedFields(): Record<string, JsonSchema> {
  return { status: { const: "confirmed" }, blockHash: hex64, height: uint, confirmations: uint };
}

/** `base` (an `object(...)` schema) with more required members. */
function withStatus(base: JsonSchema, extra: Record<string, JsonSchema>): JsonSchema {
  const properties = { ...(base.properties as Record<string, JsonSchema>), ...extra };
  return object(properties);
}
