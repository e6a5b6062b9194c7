import type { PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { TxError } from "../consensus/index.js";
import type { Mempool } from "../mempool/index.js";
import type { NetworkHost } from "../network/index.js";
import {
  ByteReader,
  ByteWriter,
  CodecError,
  decodeTransaction,
  encodeTransaction,
  fromHex,
  HASH_LENGTH,
  outOfRange,
  TxType,
  toHex,
  transactionId,
} from "../primitives/index.js";
import { SyncError, SyncErrorCode, sendRequest, serveProtocol } from "../sync/index.js";
import { type Logger, silentLogger } from "../util/index.js";

/**
 * Mempool refill on connect: a restarted node asks each peer that connects for its
 * pooled transactions, so what it missed while offline reaches its mempool (and its templates).
 *
 * Protocol `/quarry/<network>/mempool/1`, one request and one response frame each way, the sync
 * req/resp plumbing (`sendRequest` / `serveProtocol`, result byte + payload):
 * - inventory: request `0 u8 | maxIds u32` → `count u32 | count × txId (32)`, oldest first
 *   (so a sender's nonces arrive in order); the server clamps to `MAX_INVENTORY_IDS`;
 * - transactions: request `1 u8 | count u32 | count × txId` (1..`MAX_TXS_PER_REQUEST`) →
 *   `count u32 | count × (length u32 | transfer encoding)`, the ones still pooled, in request order.
 * The client asks for the inventory, then fetches the ids it lacks in chunks, and adds each
 * transfer to its mempool through the normal admission rules, until `maxTxs` / `maxBytes`.
 */

/** Most ids an inventory answer holds (20,000 × 32 B = 640 KB). */
export const MAX_INVENTORY_IDS = 20_000;
/** Most transactions asked for in one request. */
export const MAX_TXS_PER_REQUEST = 256;
/** Largest transaction encoding served (a transfer is 145 bytes). */
const MAX_TX_BYTES = 1024;
const MAX_REQUEST_BYTES = 1 + 4 + MAX_TXS_PER_REQUEST * HASH_LENGTH;
const MAX_INVENTORY_RESPONSE = 1 + 4 + MAX_INVENTORY_IDS * HASH_LENGTH;
const MAX_TXS_RESPONSE = 1 + 4 + MAX_TXS_PER_REQUEST * (4 + MAX_TX_BYTES);

export function mempoolProtocolId(network: string): string {
  return `/quarry/${network}/mempool/1`;
}

export interface MempoolExchangeOptions {
  network: string;
  /** most transactions fetched from one peer per connection */
  maxTxs: number;
  /** most transaction bytes fetched from one peer per connection */
  maxBytes: number;
  /** deadline of each request, and of serving one */
  requestTimeoutMs: number;
  /** refills running at once (peers connecting together wait their turn) */
  maxConcurrentRefills: number;
}

export const DEFAULT_MEMPOOL_EXCHANGE_OPTIONS: Omit<MempoolExchangeOptions, "network"> = {
  maxTxs: 5_000,
  maxBytes: 2 * 1024 * 1024,
  requestTimeoutMs: 5_000,
  maxConcurrentRefills: 2,
};

export interface MempoolExchangeDeps {
  host: Pick<NetworkHost, "libp2p" | "on" | "off" | "reputation" | "opts">;
  mempool: Pick<Mempool, "ids" | "get" | "has" | "add">;
  log?: Logger;
}

/** What one refill did. */
export interface RefillResult {
  peerId: string;
  offered: number;
  fetched: number;
  added: number;
  refused: number;
}

/** Refused message from a peer: a typed error whose code `punish` charges to the peer. */
function malformed(why: string): SyncError {
  return new SyncError(SyncErrorCode.MALFORMED, why);
}

export function encodeInventoryRequest(maxIds: number): Uint8Array {
  return new ByteWriter(5).u8(0).u32(maxIds).finish();
}

export function encodeTxsRequest(ids: readonly Uint8Array[]): Uint8Array {
  if (ids.length < 1 || ids.length > MAX_TXS_PER_REQUEST)
    throw new RangeError(`1..${MAX_TXS_PER_REQUEST} ids`);
  const w = new ByteWriter(5 + ids.length * HASH_LENGTH).u8(1).u32(ids.length);
  for (const id of ids) w.raw(id);
  return w.finish();
}

export type MempoolRequest = { kind: "inventory"; maxIds: number } | { kind: "txs"; ids: Uint8Array[] };

export function decodeMempoolRequest(bytes: Uint8Array): MempoolRequest {
  const r = new ByteReader(bytes, "mempool request");
  const kind = r.u8();
  if (kind === 0) {
    const maxIds = r.u32();
    r.end();
    return { kind: "inventory", maxIds };
  }
  if (kind !== 1) outOfRange("mempool request", `unknown kind ${kind}`);
  const n = r.count(MAX_TXS_PER_REQUEST, "id count");
  if (n === 0) outOfRange("mempool request", "no ids");
  const ids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) ids.push(r.bytesN(HASH_LENGTH));
  r.end();
  return { kind: "txs", ids };
}

/** Serves and requests peers' mempools; `start()` after the host started, `stop()` before it stops. */
export class MempoolExchange {
  readonly protocol: string;
  private readonly opts: MempoolExchangeOptions;
  private readonly log: Logger;
  private controller: AbortController | undefined;
  private readonly refilling = new Set<string>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly tasks = new Set<Promise<void>>();

  constructor(
    opts: Partial<MempoolExchangeOptions> & { network: string },
    private readonly deps: MempoolExchangeDeps,
  ) {
    this.opts = { ...DEFAULT_MEMPOOL_EXCHANGE_OPTIONS, ...opts };
    this.protocol = mempoolProtocolId(this.opts.network);
    this.log = (deps.log ?? silentLogger).child({ module: "mempool-exchange" });
  }

  /** Registers the protocol and refills from every peer that connects (and those already here). Idempotent. */
  async start(): Promise<void> {
    if (this.controller) return;
    this.controller = new AbortController();
    const { libp2p } = this.deps.host;
    await libp2p.handle(
      this.protocol,
      serveProtocol((request) => this.serve(request), {
        timeoutMs: this.opts.requestTimeoutMs,
        maxRequestBytes: MAX_REQUEST_BYTES,
        onBadRequest: (peer, error) => this.punish(peer.toString(), error.code),
        onServerError: (peer, err) => this.log.warn({ err, peer: peer.toString() }, "mempool handler failed"),
      }),
    );
    this.deps.host.on("peerConnected", this.onPeerConnected);
    for (const peer of libp2p.getPeers()) this.enqueue(peer.toString());
  }

  /** Unregisters, aborts requests in flight and waits for running refills. Idempotent. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    this.deps.host.off("peerConnected", this.onPeerConnected);
    this.queue.length = 0;
    await this.deps.host.libp2p.unhandle(this.protocol).catch(() => undefined);
    await Promise.allSettled([...this.tasks]);
    this.controller = undefined;
  }

  private readonly onPeerConnected = ({ peerId }: { peerId: string }): void => this.enqueue(peerId);

  private enqueue(peerId: string): void {
    if (!this.controller || this.refilling.has(peerId) || this.queue.includes(peerId)) return;
    this.queue.push(peerId);
    this.pump();
  }

  private pump(): void {
    while (this.controller && this.running < this.opts.maxConcurrentRefills && this.queue.length > 0) {
      const peerId = this.queue.shift()!;
      this.running++;
      this.refilling.add(peerId);
      const task = this.refillFrom(peerId)
        .then((r) => {
          if (r.added > 0 || r.refused > 0) this.log.info(r, "mempool refilled from peer");
        })
        .catch((err: unknown) => {
          if (err instanceof SyncError && err.code === SyncErrorCode.STOPPED) return;
          this.log.debug({ err, peerId }, "mempool refill failed");
        })
        .finally(() => {
          this.running--;
          this.refilling.delete(peerId);
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }

  /**
   * Asks one peer for its mempool and adds what we lack. Throws SyncError for transport
   * failures (SYNC_TIMEOUT, SYNC_STREAM_FAILED, ...); a malformed answer is also reported.
   */
  async refillFrom(peerIdText: string): Promise<RefillResult> {
    const signal = this.controller?.signal;
    const peer: PeerId = peerIdFromString(peerIdText);
    const { libp2p } = this.deps.host;
    const { mempool } = this.deps;
    const result: RefillResult = { peerId: peerIdText, offered: 0, fetched: 0, added: 0, refused: 0 };
    const request = (body: Uint8Array, maxResponseBytes: number) =>
      sendRequest(libp2p, peer, this.protocol, body, {
        timeoutMs: this.opts.requestTimeoutMs,
        maxResponseBytes,
        ...(signal ? { signal } : {}),
      });
    let ids: Uint8Array[];
    try {
      const payload = await request(encodeInventoryRequest(this.opts.maxTxs), MAX_INVENTORY_RESPONSE);
      const r = new ByteReader(payload, "mempool inventory");
      const n = r.count(Math.min(this.opts.maxTxs, MAX_INVENTORY_IDS), "id count");
      ids = [];
      for (let i = 0; i < n; i++) ids.push(r.bytesN(HASH_LENGTH));
      r.end();
    } catch (err) {
      throw this.reportIfMalformed(peerIdText, err);
    }
    result.offered = ids.length;
    const wanted = ids.filter((id) => !mempool.has(toHex(id)));
    let bytes = 0;
    for (let start = 0; start < wanted.length; start += MAX_TXS_PER_REQUEST) {
      if (result.added >= this.opts.maxTxs || bytes >= this.opts.maxBytes) break;
      const chunk = wanted.slice(start, start + MAX_TXS_PER_REQUEST);
      const asked = new Set(chunk.map(toHex));
      let encodings: Uint8Array[];
      try {
        const payload = await request(encodeTxsRequest(chunk), MAX_TXS_RESPONSE);
        const r = new ByteReader(payload, "mempool transactions");
        const n = r.count(chunk.length, "tx count");
        encodings = [];
        for (let i = 0; i < n; i++) encodings.push(r.bytesN(r.count(MAX_TX_BYTES, "tx length")));
        r.end();
      } catch (err) {
        throw this.reportIfMalformed(peerIdText, err);
      }
      for (const encoding of encodings) {
        let tx: ReturnType<typeof decodeTransaction>;
        try {
          tx = decodeTransaction(encoding);
        } catch (err) {
          throw this.reportIfMalformed(peerIdText, err);
        }
        const id = toHex(transactionId(tx));
        // An answer must hold only what we asked for: anything else is a peer pushing data.
        if (!asked.delete(id) || tx.type !== TxType.Transfer) {
          this.punish(peerIdText, SyncErrorCode.MALFORMED);
          throw malformed("mempool answer holds a transaction that was not asked for");
        }
        result.fetched++;
        bytes += encoding.length;
        try {
          // No `fromPeer`: we asked for these, so they do not draw on the peer's gossip rate limit.
          await mempool.add(tx);
          result.added++;
        } catch (err) {
          result.refused++;
          // A provably invalid transfer (bad signature, wrong network) is the peer's fault.
          if (err instanceof TxError && err.action === "reject") this.punish(peerIdText, err.code);
        }
      }
    }
    return result;
  }

  private async serve(request: Uint8Array): Promise<Uint8Array> {
    const req = decodeMempoolRequest(request);
    const { mempool } = this.deps;
    if (req.kind === "inventory") {
      const ids = mempool.ids().slice(0, Math.min(req.maxIds, MAX_INVENTORY_IDS));
      const w = new ByteWriter(4 + ids.length * HASH_LENGTH).u32(ids.length);
      for (const id of ids) w.raw(fromHex(id));
      return w.finish();
    }
    const found: Uint8Array[] = [];
    for (const id of req.ids) {
      const tx = mempool.get(toHex(id));
      if (tx) found.push(encodeTransaction(tx));
    }
    const w = new ByteWriter(4 + found.reduce((n, e) => n + 4 + e.length, 0)).u32(found.length);
    for (const e of found) w.u32(e.length).raw(e);
    return w.finish();
  }

  private reportIfMalformed(peerId: string, err: unknown): unknown {
    if (err instanceof CodecError) {
      this.punish(peerId, SyncErrorCode.MALFORMED);
      return malformed(err.message);
    }
    if (
      err instanceof SyncError &&
      (err.code === SyncErrorCode.MALFORMED || err.code === SyncErrorCode.OVERSIZED)
    )
      this.punish(peerId, err.code);
    return err;
  }

  /** Charges the peer by the one penalty table (SYNC_MALFORMED costs what malformed data costs). */
  private punish(peerId: string, code: string): void {
    this.deps.host.reputation.penalize(peerId, code, { kind: "frame", detail: { protocol: this.protocol } });
  }
}
