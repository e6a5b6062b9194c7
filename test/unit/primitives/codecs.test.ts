import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Block,
  type BlockHeader,
  blockEnvelope,
  blockHash,
  CodecError,
  CodecErrorCode,
  type CoinbaseTx,
  decodeBlock,
  decodeBlockEnvelope,
  decodeHeader,
  decodeTransaction,
  encodeBlock,
  encodeHeader,
  encodeTransaction,
  HEADER_NONCE_OFFSET,
  HEADER_SIZE,
  publicKeyFromSeed,
  signTransfer,
  type Transaction,
  type TransferTx,
  TxType,
  toHex,
  transactionId,
  U64_MAX,
} from "../../../src/primitives/index.js";

const seed = new Uint8Array(32).fill(1);
const transfer: TransferTx = signTransfer(
  {
    type: TxType.Transfer,
    networkId: 7,
    senderPublicKey: publicKeyFromSeed(seed),
    recipient: new Uint8Array(20).fill(2),
    amount: 1000n,
    fee: 10n,
    nonce: 0n,
  },
  seed,
);
const coinbase: CoinbaseTx = {
  type: TxType.Coinbase,
  networkId: 7,
  height: 5,
  recipient: new Uint8Array(20).fill(3),
  amount: U64_MAX,
};
const header: BlockHeader = {
  version: 1,
  prevHash: new Uint8Array(32).fill(4),
  merkleRoot: new Uint8Array(32).fill(5),
  stateRoot: new Uint8Array(32).fill(6),
  time: 0xffffffff,
  bits: 0x207fffff,
  nonce: 0x0102030405060708n,
};
const block: Block = { header, txs: [coinbase, transfer] };

type Codec = { name: string; value: unknown; encode: () => Uint8Array; decode: (b: Uint8Array) => unknown };
const codecs: Codec[] = [
  { name: "transfer", value: transfer, encode: () => encodeTransaction(transfer), decode: decodeTransaction },
  { name: "coinbase", value: coinbase, encode: () => encodeTransaction(coinbase), decode: decodeTransaction },
  { name: "header", value: header, encode: () => encodeHeader(header), decode: decodeHeader },
  { name: "block", value: block, encode: () => encodeBlock(block), decode: decodeBlock },
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CodecError) return err.code;
    throw err;
  }
  return undefined;
}

describe("codecs: one fixture table for encode, decode and decode errors", () => {
  it.each(codecs)("$name round-trips", ({ value, encode, decode }) => {
    expect(decode(encode())).toEqual(value);
  });

  it.each(codecs)("$name rejects trailing bytes with CODEC_TRAILING_BYTES", ({ encode, decode }) => {
    const bytes = encode();
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(codeOf(() => decode(longer))).toBe(CodecErrorCode.TRAILING_BYTES);
  });

  it.each(codecs)("$name rejects every truncation with CODEC_TRUNCATED", ({ encode, decode }) => {
    const bytes = encode();
    for (let n = 0; n < bytes.length; n++) {
      expect(codeOf(() => decode(bytes.subarray(0, n)))).toBe(CodecErrorCode.TRUNCATED);
    }
  });
});

describe("transaction encoding", () => {
  it("rejects an unknown type byte with CODEC_UNKNOWN_TYPE", () => {
    const bytes = encodeTransaction(coinbase);
    bytes[0] = 9;
    expect(codeOf(() => decodeTransaction(bytes))).toBe(CodecErrorCode.UNKNOWN_TYPE);
  });

  it("has the documented fixed sizes", () => {
    expect(encodeTransaction(transfer).length).toBe(145);
    expect(encodeTransaction(coinbase).length).toBe(37);
  });

  it("refuses to encode out-of-range values", () => {
    expect(() => encodeTransaction({ ...coinbase, amount: U64_MAX + 1n })).toThrow(RangeError);
    expect(() => encodeTransaction({ ...transfer, amount: -1n })).toThrow(RangeError);
    expect(() => encodeTransaction({ ...transfer, recipient: new Uint8Array(19) })).toThrow(RangeError);
  });
});

describe("header encoding", () => {
  it("is 116 bytes with the nonce in the second SHA-256 block (midstate reuse)", () => {
    const bytes = encodeHeader(header);
    expect(bytes.length).toBe(HEADER_SIZE);
    expect(HEADER_SIZE).toBeLessThanOrEqual(119);
    expect(HEADER_NONCE_OFFSET).toBeGreaterThanOrEqual(64);
    expect(toHex(bytes.subarray(HEADER_NONCE_OFFSET))).toBe("0102030405060708");
  });
});

describe("block encoding", () => {
  it("rejects a transaction count above the decode ceiling before allocating (CODEC_TOO_LARGE)", () => {
    const bytes = encodeBlock({ header, txs: [] });
    new DataView(bytes.buffer).setUint32(HEADER_SIZE, 0xffffffff);
    expect(codeOf(() => decodeBlock(bytes))).toBe(CodecErrorCode.TOO_LARGE);
  });

  it("rejects a count larger than the transactions present (CODEC_TRUNCATED)", () => {
    const bytes = encodeBlock(block);
    new DataView(bytes.buffer).setUint32(HEADER_SIZE, 3);
    expect(codeOf(() => decodeBlock(bytes))).toBe(CodecErrorCode.TRUNCATED);
  });
});

const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const arbTransfer: fc.Arbitrary<Transaction> = fc.record({
  type: fc.constant(TxType.Transfer as const),
  networkId: u32,
  senderPublicKey: bytesN(32),
  recipient: bytesN(20),
  amount: u64,
  fee: u64,
  nonce: u64,
  signature: bytesN(64),
});
const arbCoinbase: fc.Arbitrary<Transaction> = fc.record({
  type: fc.constant(TxType.Coinbase as const),
  networkId: u32,
  height: u32,
  recipient: bytesN(20),
  amount: u64,
});
const arbHeader: fc.Arbitrary<BlockHeader> = fc.record({
  version: u32,
  prevHash: bytesN(32),
  merkleRoot: bytesN(32),
  stateRoot: bytesN(32),
  time: u32,
  bits: u32,
  nonce: u64,
});

describe("codec properties (fast-check)", () => {
  it("any transaction round-trips", () => {
    fc.assert(
      fc.property(fc.oneof(arbTransfer, arbCoinbase), (tx) => {
        expect(decodeTransaction(encodeTransaction(tx))).toEqual(tx);
      }),
    );
  });

  it("a decoded block's envelope: the received bytes as they are, the header's id, each tx's id", () => {
    fc.assert(
      fc.property(arbHeader, fc.array(fc.oneof(arbTransfer, arbCoinbase), { maxLength: 8 }), (h, txs) => {
        const block = { header: h, txs };
        const bytes = encodeBlock(block);
        const decoded = decodeBlockEnvelope(bytes);
        expect(decoded.bytes).toBe(bytes);
        expect(decoded.block).toEqual(block);
        expect(decoded.hash).toEqual(blockHash(block));
        expect(decoded.hashHex).toBe(toHex(blockHash(block)));
        expect(decoded.txIds).toEqual(txs.map(transactionId));
        expect(blockEnvelope(block)).toEqual(decoded);
      }),
    );
  });

  it("any block round-trips", () => {
    fc.assert(
      fc.property(arbHeader, fc.array(fc.oneof(arbTransfer, arbCoinbase), { maxLength: 8 }), (h, txs) => {
        expect(decodeBlock(encodeBlock({ header: h, txs }))).toEqual({ header: h, txs });
      }),
    );
  });

  it("arbitrary bytes either decode to a value that re-encodes identically or throw CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        for (const [decode, encode] of [
          [decodeBlock, encodeBlock],
          [decodeTransaction, encodeTransaction],
          [decodeHeader, encodeHeader],
        ] as const) {
          try {
            const value = decode(bytes);
            expect(toHex((encode as (v: unknown) => Uint8Array)(value))).toBe(toHex(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(CodecError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
