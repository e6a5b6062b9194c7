import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CodecError, CodecErrorCode } from "../../../src/primitives/codec.js";
import {
  decodeBlocksByHashRequest,
  decodeBlocksByRangeRequest,
  decodeHeadersResponse,
  decodeLocatorRequest,
  decodeLocatorResponse,
  decodeResponse,
  decodeSignedBatch,
  decodeStatus,
  encodeBlocksByHashRequest,
  encodeBlocksByRangeRequest,
  encodeHeadersResponse,
  encodeLocatorRequest,
  encodeLocatorResponse,
  encodeResponse,
  encodeSignedBatch,
  encodeStatus,
  MAX_BATCH_BLOCKS,
  MAX_HEADERS,
  MAX_LOCATOR_LENGTH,
  ResultCode,
} from "../../../src/sync/codec.js";

const h = (b: number) => new Uint8Array(32).fill(b);
const header = (b: number) => ({
  version: 1,
  prevHash: h(b),
  merkleRoot: h(b + 1),
  stateRoot: h(b + 2),
  time: 1_764_000_000 + b,
  bits: 0x207fffff,
  nonce: BigInt(b) * 1_000_000_007n,
});

interface Case {
  name: string;
  value: unknown;
  encode: (v: never) => Uint8Array;
  decode: (b: Uint8Array) => unknown;
}

// One fixture table for encode, decode, truncation and trailing bytes.
const cases: Case[] = [
  {
    name: "status",
    value: {
      network: "regtest",
      genesisHash: h(1),
      tipHash: h(2),
      height: 300,
      chainWork: (1n << 200n) + 7n,
    },
    encode: encodeStatus as (v: never) => Uint8Array,
    decode: decodeStatus,
  },
  {
    name: "locator request",
    value: { locator: [h(3), h(4)], maxHashes: 2048 },
    encode: encodeLocatorRequest as (v: never) => Uint8Array,
    decode: decodeLocatorRequest,
  },
  {
    name: "locator response",
    value: { forkHeight: 10, forkHash: h(5), hashes: [h(6), h(7), h(8)] },
    encode: encodeLocatorResponse as (v: never) => Uint8Array,
    decode: decodeLocatorResponse,
  },
  {
    name: "locator response, no hashes",
    value: { forkHeight: 0, forkHash: h(5), hashes: [] },
    encode: encodeLocatorResponse as (v: never) => Uint8Array,
    decode: decodeLocatorResponse,
  },
  {
    name: "headers response",
    value: { forkHeight: 7, forkHash: h(20), headers: [header(21), header(24)] },
    encode: encodeHeadersResponse as (v: never) => Uint8Array,
    decode: decodeHeadersResponse,
  },
  {
    name: "headers response, no headers",
    value: { forkHeight: 0, forkHash: h(20), headers: [] },
    encode: encodeHeadersResponse as (v: never) => Uint8Array,
    decode: decodeHeadersResponse,
  },
  {
    name: "blocks-by-range request",
    value: { startHeight: 1, count: 64 },
    encode: encodeBlocksByRangeRequest as (v: never) => Uint8Array,
    decode: decodeBlocksByRangeRequest,
  },
  {
    name: "blocks-by-hash request",
    value: { hashes: [h(9)] },
    encode: encodeBlocksByHashRequest as (v: never) => Uint8Array,
    decode: decodeBlocksByHashRequest,
  },
  {
    name: "range batch",
    value: {
      request: { kind: "range", startHeight: 5, count: 2 },
      blockHashes: [h(10), h(11)],
      blocks: [new Uint8Array([1, 2, 3]), new Uint8Array([4])],
      signer: h(12),
      signature: new Uint8Array(64).fill(13),
    },
    encode: encodeSignedBatch as (v: never) => Uint8Array,
    decode: decodeSignedBatch,
  },
  {
    name: "hash batch, empty",
    value: {
      request: { kind: "hashes", hashes: [h(14)] },
      blockHashes: [],
      blocks: [],
      signer: h(12),
      signature: new Uint8Array(64),
    },
    encode: encodeSignedBatch as (v: never) => Uint8Array,
    decode: decodeSignedBatch,
  },
  {
    name: "ok response",
    value: { result: ResultCode.OK, payload: new Uint8Array([7, 8]) },
    encode: encodeResponse as (v: never) => Uint8Array,
    decode: decodeResponse,
  },
  {
    name: "error response",
    value: { result: ResultCode.INVALID_REQUEST, message: "count must be at least 1" },
    encode: encodeResponse as (v: never) => Uint8Array,
    decode: decodeResponse,
  },
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.type.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}

describe("sync codecs", () => {
  it.each(cases)("$name round-trips", ({ value, encode, decode }) => {
    expect(decode(encode(value as never))).toEqual(value);
  });

  it.each(cases.filter((c) => c.name !== "ok response"))(
    "$name: truncation is CODEC_TRUNCATED",
    ({ value, encode, decode }) => {
      const bytes = encode(value as never);
      expect(codeOf(() => decode(bytes.subarray(0, bytes.length - 1)))).toBe(CodecErrorCode.TRUNCATED);
    },
  );

  it.each(cases.filter((c) => c.name !== "ok response"))(
    "$name: a trailing byte is CODEC_TRAILING_BYTES",
    ({ value, encode, decode }) => {
      const bytes = encode(value as never);
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(codeOf(() => decode(longer))).toBe(CodecErrorCode.TRAILING_BYTES);
    },
  );

  it("counts above the ceilings are CODEC_TOO_LARGE before allocating", () => {
    const locator = new Uint8Array(8);
    new DataView(locator.buffer).setUint32(0, MAX_LOCATOR_LENGTH + 1);
    expect(codeOf(() => decodeLocatorRequest(locator))).toBe(CodecErrorCode.TOO_LARGE);
    const byHash = new Uint8Array(4);
    new DataView(byHash.buffer).setUint32(0, 0xffffffff);
    expect(codeOf(() => decodeBlocksByHashRequest(byHash))).toBe(CodecErrorCode.TOO_LARGE);
    const batch = new Uint8Array(13);
    new DataView(batch.buffer).setUint32(9, MAX_BATCH_BLOCKS + 1);
    expect(codeOf(() => decodeSignedBatch(batch))).toBe(CodecErrorCode.TOO_LARGE);
    const headers = new Uint8Array(40);
    new DataView(headers.buffer).setUint32(36, MAX_HEADERS + 1);
    expect(codeOf(() => decodeHeadersResponse(headers))).toBe(CodecErrorCode.TOO_LARGE);
  });

  it("unknown kinds and result codes are CODEC_UNKNOWN_TYPE; bad network names CODEC_OUT_OF_RANGE", () => {
    expect(codeOf(() => decodeSignedBatch(new Uint8Array([7, 0, 0, 0, 0])))).toBe(
      CodecErrorCode.UNKNOWN_TYPE,
    );
    expect(codeOf(() => decodeResponse(new Uint8Array([9, 0])))).toBe(CodecErrorCode.UNKNOWN_TYPE);
    const status = encodeStatus({
      network: "regtest",
      genesisHash: h(1),
      tipHash: h(2),
      height: 1,
      chainWork: 1n,
    });
    status[1] = "R".charCodeAt(0);
    expect(codeOf(() => decodeStatus(status))).toBe(CodecErrorCode.OUT_OF_RANGE);
    expect(codeOf(() => decodeLocatorRequest(new Uint8Array(8)))).toBe(CodecErrorCode.OUT_OF_RANGE);
    expect(codeOf(() => decodeBlocksByHashRequest(new Uint8Array(4)))).toBe(CodecErrorCode.OUT_OF_RANGE);
  });

  it("encoders refuse values outside the protocol (RangeError)", () => {
    expect(() =>
      encodeHeadersResponse({
        forkHeight: 0,
        forkHash: h(1),
        headers: Array.from({ length: MAX_HEADERS + 1 }, () => header(1)),
      }),
    ).toThrow(RangeError);
    expect(() => encodeBlocksByHashRequest({ hashes: [] })).toThrow(RangeError);
    expect(() => encodeLocatorRequest({ locator: [new Uint8Array(31)], maxHashes: 1 })).toThrow(RangeError);
    expect(() =>
      encodeStatus({ network: "x".repeat(17), genesisHash: h(1), tipHash: h(1), height: 0, chainWork: 0n }),
    ).toThrow(RangeError);
  });

  it("property: every status and range request round-trips", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.nat({ max: 0xffffffff }),
        (work, height) => {
          const m = { network: "devnet", genesisHash: h(1), tipHash: h(2), height, chainWork: work };
          expect(decodeStatus(encodeStatus(m))).toEqual(m);
          expect(
            decodeBlocksByRangeRequest(encodeBlocksByRangeRequest({ startHeight: height, count: height })),
          ).toEqual({ startHeight: height, count: height });
        },
      ),
    );
  });

  it("property: arbitrary bytes never decode to a batch that re-encodes differently", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        let decoded: ReturnType<typeof decodeSignedBatch>;
        try {
          decoded = decodeSignedBatch(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
          return;
        }
        expect(encodeSignedBatch(decoded)).toEqual(bytes);
      }),
    );
  });
});
