import {
  type BlockHeader,
  ByteReader,
  ByteWriter,
  CodecError,
  CodecErrorCode,
  encodeHeader,
  HASH_LENGTH,
  HEADER_SIZE,
  MAX_BLOCK_BYTES_DECODE,
  outOfRange,
  readHeader,
  tooLarge,
} from "../primitives/index.js";

/**
 * Binary messages of the sync protocols (docs/PROTOCOL-SYNC.md). Integers are big-endian; every
 * count is checked against its ceiling before anything is allocated; trailing bytes are refused.
 * Decoders throw CodecError (`CODEC_*`), which the request layer maps to `SYNC_MALFORMED` or
 * `SYNC_OVERSIZED`.
 */

/** Wire ceilings: a peer may serve less, never more. */
export const MAX_BATCH_BLOCKS = 64;
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
export const MAX_LOCATOR_LENGTH = 64;
export const MAX_LOCATOR_HASHES = 2048;
/** Most headers in one headers answer (2,048 × 116 bytes = 232 KiB). */
export const MAX_HEADERS = 2048;
export const MAX_NETWORK_NAME = 16;
const SIGNER_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
const WORK_LENGTH = 32;

/** Largest encoded batch: the block bytes plus every fixed part at its ceiling. */
export const MAX_BATCH_ENCODED =
  MAX_BATCH_BYTES +
  1 +
  4 +
  4 +
  MAX_BATCH_BLOCKS * HASH_LENGTH * 2 +
  4 +
  MAX_BATCH_BLOCKS * 4 +
  SIGNER_LENGTH +
  SIGNATURE_LENGTH;
/** Largest request frame of any sync protocol (a locator of MAX_LOCATOR_LENGTH hashes). */
export const MAX_REQUEST_FRAME = 4 + MAX_LOCATOR_LENGTH * HASH_LENGTH + 4;
/** Largest response frame: result byte + the largest payload. */
export const MAX_RESPONSE_FRAME =
  1 +
  Math.max(
    MAX_BATCH_ENCODED,
    4 + HASH_LENGTH + 4 + MAX_LOCATOR_HASHES * HASH_LENGTH,
    4 + HASH_LENGTH + 4 + MAX_HEADERS * HEADER_SIZE,
  );

/** Status handshake: who we are and how far our chain goes. */
export interface StatusMessage {
  network: string;
  genesisHash: Uint8Array;
  tipHash: Uint8Array;
  height: number;
  chainWork: bigint;
}

export interface LocatorRequest {
  /** main-chain hashes, tip first, ending at genesis (Chain.getLocator) */
  locator: Uint8Array[];
  /** most hashes wanted after the fork point */
  maxHashes: number;
}

export interface LocatorResponse {
  /** the highest locator entry on the server's main chain */
  forkHeight: number;
  forkHash: Uint8Array;
  /** server main-chain hashes from forkHeight + 1 upwards */
  hashes: Uint8Array[];
}

/** Headers answer: the fork point and the server's main-chain headers above it. */
export interface HeadersResponse {
  /** the highest locator entry on the server's main chain */
  forkHeight: number;
  forkHash: Uint8Array;
  /** server main-chain headers from forkHeight + 1 upwards */
  headers: BlockHeader[];
}

export interface BlocksByRangeRequest {
  startHeight: number;
  count: number;
}

export interface BlocksByHashRequest {
  hashes: Uint8Array[];
}

/** What a batch answers: the request, echoed and covered by the signature. */
export type BatchRequest =
  | ({ kind: "range" } & BlocksByRangeRequest)
  | ({ kind: "hashes" } & BlocksByHashRequest);

/** A batch of blocks signed by the serving node's identity key (see batch.ts). */
export interface SignedBatch {
  request: BatchRequest;
  blockHashes: Uint8Array[];
  /** block encodings, decoded only after the signature verified */
  blocks: Uint8Array[];
  /** raw Ed25519 public key of the signer (must be the serving peer's) */
  signer: Uint8Array;
  signature: Uint8Array;
}

/** Result byte that starts every response. */
export enum ResultCode {
  OK = 0,
  INVALID_REQUEST = 1,
  SERVER_ERROR = 2,
  UNAVAILABLE = 3,
}

export type Response =
  | { result: ResultCode.OK; payload: Uint8Array }
  | { result: Exclude<ResultCode, ResultCode.OK>; message: string };

const NETWORK_NAME = /^[a-z0-9-]{1,16}$/;
const MAX_ERROR_MESSAGE = 255;

function assertHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH)
    throw new RangeError(`${what} must be ${HASH_LENGTH} bytes`);
}

function assertU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`${what} must be a u32`);
}

function readHashes(r: ByteReader, max: number, field: string): Uint8Array[] {
  const n = r.count(max, field);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytesN(HASH_LENGTH));
  return out;
}

function bigintToBytes32(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError("chain work must fit 256 bits");
  const out = new Uint8Array(WORK_LENGTH);
  let v = value;
  for (let i = WORK_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function bytes32ToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function encodeStatus(m: StatusMessage): Uint8Array {
  if (!NETWORK_NAME.test(m.network)) throw new RangeError("network name must match [a-z0-9-]{1,16}");
  assertHash(m.genesisHash, "genesisHash");
  assertHash(m.tipHash, "tipHash");
  assertU32(m.height, "height");
  const name = new TextEncoder().encode(m.network);
  return new ByteWriter(1 + name.length + HASH_LENGTH * 2 + 4 + WORK_LENGTH)
    .u8(name.length)
    .raw(name)
    .raw(m.genesisHash)
    .raw(m.tipHash)
    .u32(m.height)
    .raw(bigintToBytes32(m.chainWork))
    .finish();
}

export function decodeStatus(bytes: Uint8Array): StatusMessage {
  const r = new ByteReader(bytes, "status");
  const nameLength = r.u8();
  if (nameLength === 0 || nameLength > MAX_NETWORK_NAME)
    outOfRange("status", `network name length ${nameLength}`);
  const network = new TextDecoder().decode(r.bytesN(nameLength));
  if (!NETWORK_NAME.test(network)) outOfRange("status", "network name has characters outside [a-z0-9-]");
  const genesisHash = r.bytesN(HASH_LENGTH);
  const tipHash = r.bytesN(HASH_LENGTH);
  const height = r.u32();
  const chainWork = bytes32ToBigint(r.bytesN(WORK_LENGTH));
  r.end();
  return { network, genesisHash, tipHash, height, chainWork };
}

export function encodeLocatorRequest(m: LocatorRequest): Uint8Array {
  if (m.locator.length < 1 || m.locator.length > MAX_LOCATOR_LENGTH)
    throw new RangeError(`locator must hold 1..${MAX_LOCATOR_LENGTH} hashes`);
  for (const [i, h] of m.locator.entries()) assertHash(h, `locator[${i}]`);
  assertU32(m.maxHashes, "maxHashes");
  const w = new ByteWriter(4 + m.locator.length * HASH_LENGTH + 4).u32(m.locator.length);
  for (const h of m.locator) w.raw(h);
  return w.u32(m.maxHashes).finish();
}

export function decodeLocatorRequest(bytes: Uint8Array): LocatorRequest {
  const r = new ByteReader(bytes, "locator request");
  const locator = readHashes(r, MAX_LOCATOR_LENGTH, "locator length");
  if (locator.length === 0) outOfRange("locator request", "empty locator");
  const maxHashes = r.u32();
  r.end();
  return { locator, maxHashes };
}

export function encodeLocatorResponse(m: LocatorResponse): Uint8Array {
  assertU32(m.forkHeight, "forkHeight");
  assertHash(m.forkHash, "forkHash");
  if (m.hashes.length > MAX_LOCATOR_HASHES) throw new RangeError(`at most ${MAX_LOCATOR_HASHES} hashes`);
  for (const [i, h] of m.hashes.entries()) assertHash(h, `hashes[${i}]`);
  const w = new ByteWriter(4 + HASH_LENGTH + 4 + m.hashes.length * HASH_LENGTH)
    .u32(m.forkHeight)
    .raw(m.forkHash)
    .u32(m.hashes.length);
  for (const h of m.hashes) w.raw(h);
  return w.finish();
}

export function decodeLocatorResponse(bytes: Uint8Array): LocatorResponse {
  const r = new ByteReader(bytes, "locator response");
  const forkHeight = r.u32();
  const forkHash = r.bytesN(HASH_LENGTH);
  const hashes = readHashes(r, MAX_LOCATOR_HASHES, "hash count");
  r.end();
  return { forkHeight, forkHash, hashes };
}

/** The headers request has the locator request's layout (`maxHashes` is the most headers wanted). */
export const encodeHeadersRequest = encodeLocatorRequest;
export const decodeHeadersRequest = decodeLocatorRequest;

export function encodeHeadersResponse(m: HeadersResponse): Uint8Array {
  assertU32(m.forkHeight, "forkHeight");
  assertHash(m.forkHash, "forkHash");
  if (m.headers.length > MAX_HEADERS) throw new RangeError(`at most ${MAX_HEADERS} headers`);
  const w = new ByteWriter(4 + HASH_LENGTH + 4 + m.headers.length * HEADER_SIZE)
    .u32(m.forkHeight)
    .raw(m.forkHash)
    .u32(m.headers.length);
  for (const h of m.headers) w.raw(encodeHeader(h));
  return w.finish();
}

export function decodeHeadersResponse(bytes: Uint8Array): HeadersResponse {
  const r = new ByteReader(bytes, "headers response");
  const forkHeight = r.u32();
  const forkHash = r.bytesN(HASH_LENGTH);
  const n = r.count(MAX_HEADERS, "header count");
  const headers: BlockHeader[] = [];
  for (let i = 0; i < n; i++) headers.push(readHeader(r));
  r.end();
  return { forkHeight, forkHash, headers };
}

export function encodeBlocksByRangeRequest(m: BlocksByRangeRequest): Uint8Array {
  assertU32(m.startHeight, "startHeight");
  assertU32(m.count, "count");
  return new ByteWriter(8).u32(m.startHeight).u32(m.count).finish();
}

/** Any u32 count decodes: the handler clamps it (a large count is not malformed, just greedy). */
export function decodeBlocksByRangeRequest(bytes: Uint8Array): BlocksByRangeRequest {
  const r = new ByteReader(bytes, "blocks-by-range request");
  const startHeight = r.u32();
  const count = r.u32();
  r.end();
  return { startHeight, count };
}

export function encodeBlocksByHashRequest(m: BlocksByHashRequest): Uint8Array {
  if (m.hashes.length < 1 || m.hashes.length > MAX_BATCH_BLOCKS)
    throw new RangeError(`blocks-by-hash asks for 1..${MAX_BATCH_BLOCKS} hashes`);
  for (const [i, h] of m.hashes.entries()) assertHash(h, `hashes[${i}]`);
  const w = new ByteWriter(4 + m.hashes.length * HASH_LENGTH).u32(m.hashes.length);
  for (const h of m.hashes) w.raw(h);
  return w.finish();
}

export function decodeBlocksByHashRequest(bytes: Uint8Array): BlocksByHashRequest {
  const r = new ByteReader(bytes, "blocks-by-hash request");
  const hashes = readHashes(r, MAX_BATCH_BLOCKS, "hash count");
  if (hashes.length === 0) outOfRange("blocks-by-hash request", "no hashes");
  r.end();
  return { hashes };
}

function batchRequestSize(req: BatchRequest): number {
  return 1 + (req.kind === "range" ? 8 : 4 + req.hashes.length * HASH_LENGTH);
}

/** The request part of a batch, as echoed on the wire and signed. */
export function encodeBatchRequest(req: BatchRequest): Uint8Array {
  if (req.kind === "range") {
    assertU32(req.startHeight, "startHeight");
    assertU32(req.count, "count");
    return new ByteWriter(9).u8(0).u32(req.startHeight).u32(req.count).finish();
  }
  const w = new ByteWriter(batchRequestSize(req)).u8(1).u32(req.hashes.length);
  for (const h of req.hashes) w.raw(h);
  return w.finish();
}

function readBatchRequest(r: ByteReader): BatchRequest {
  const kind = r.u8();
  if (kind === 0) return { kind: "range", startHeight: r.u32(), count: r.u32() };
  if (kind === 1) return { kind: "hashes", hashes: readHashes(r, MAX_BATCH_BLOCKS, "requested hash count") };
  throw new CodecError(
    { code: CodecErrorCode.UNKNOWN_TYPE, what: "batch" },
    `batch: unknown request kind ${kind}`,
  );
}

export function encodeSignedBatch(b: SignedBatch): Uint8Array {
  if (b.blocks.length !== b.blockHashes.length) throw new RangeError("one hash per block");
  if (b.blocks.length > MAX_BATCH_BLOCKS) throw new RangeError(`at most ${MAX_BATCH_BLOCKS} blocks`);
  if (b.request.kind === "hashes" && b.request.hashes.length > MAX_BATCH_BLOCKS)
    throw new RangeError(`at most ${MAX_BATCH_BLOCKS} requested hashes`);
  if (b.signer.length !== SIGNER_LENGTH || b.signature.length !== SIGNATURE_LENGTH)
    throw new RangeError("signer is 32 bytes, signature 64");
  for (const [i, h] of b.blockHashes.entries()) assertHash(h, `blockHashes[${i}]`);
  let blockBytes = 0;
  for (const block of b.blocks) blockBytes += 4 + block.length;
  const request = encodeBatchRequest(b.request);
  const w = new ByteWriter(
    request.length + 4 + b.blocks.length * HASH_LENGTH + blockBytes + SIGNER_LENGTH + SIGNATURE_LENGTH,
  )
    .raw(request)
    .u32(b.blocks.length);
  for (const h of b.blockHashes) w.raw(h);
  for (const block of b.blocks) w.u32(block.length).raw(block);
  return w.raw(b.signer).raw(b.signature).finish();
}

export function decodeSignedBatch(bytes: Uint8Array): SignedBatch {
  if (bytes.length > MAX_BATCH_ENCODED)
    tooLarge("batch", `${bytes.length} bytes exceeds ${MAX_BATCH_ENCODED}`);
  const r = new ByteReader(bytes, "batch");
  const request = readBatchRequest(r);
  const n = r.count(MAX_BATCH_BLOCKS, "block count");
  const blockHashes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) blockHashes.push(r.bytesN(HASH_LENGTH));
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const length = r.count(MAX_BLOCK_BYTES_DECODE, "block length");
    total += length;
    if (total > MAX_BATCH_BYTES) tooLarge("batch", `block bytes exceed ${MAX_BATCH_BYTES}`);
    blocks.push(r.bytesN(length));
  }
  const signer = r.bytesN(SIGNER_LENGTH);
  const signature = r.bytesN(SIGNATURE_LENGTH);
  r.end();
  return { request, blockHashes, blocks, signer, signature };
}

export function encodeResponse(res: Response): Uint8Array {
  if (res.result === ResultCode.OK)
    return new ByteWriter(1 + res.payload.length).u8(0).raw(res.payload).finish();
  const text = new TextEncoder().encode(res.message).subarray(0, MAX_ERROR_MESSAGE);
  return new ByteWriter(2 + text.length).u8(res.result).u8(text.length).raw(text).finish();
}

export function decodeResponse(bytes: Uint8Array): Response {
  const r = new ByteReader(bytes, "response");
  const result = r.u8();
  if (result === ResultCode.OK) return { result, payload: r.bytesN(r.remaining) };
  if (
    result !== ResultCode.INVALID_REQUEST &&
    result !== ResultCode.SERVER_ERROR &&
    result !== ResultCode.UNAVAILABLE
  )
    throw new CodecError(
      { code: CodecErrorCode.UNKNOWN_TYPE, what: "response" },
      `response: unknown result ${result}`,
    );
  const length = r.u8();
  // fatal: false — an error text is for logs only; bad UTF-8 becomes replacement characters.
  const message = new TextDecoder().decode(r.bytesN(length));
  r.end();
  return { result, message };
}
