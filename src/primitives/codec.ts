import { QuarryError } from "../util/index.js";

/** Why a decoder refused bytes. Decoders never accept a second encoding of the same value. */
export enum CodecErrorCode {
  TRUNCATED = "CODEC_TRUNCATED",
  TRAILING_BYTES = "CODEC_TRAILING_BYTES",
  UNKNOWN_TYPE = "CODEC_UNKNOWN_TYPE",
  OUT_OF_RANGE = "CODEC_OUT_OF_RANGE",
  TOO_LARGE = "CODEC_TOO_LARGE",
  NOT_BYTES = "CODEC_NOT_BYTES",
}

export class CodecError extends QuarryError<{ code: CodecErrorCode; what: string }> {
  /** Malformed bytes are always provably bad: the sender is penalised. */
  readonly action = "reject" as const;
}

function fail(code: CodecErrorCode, what: string, detail: string): never {
  throw new CodecError({ code, what }, `${what}: ${detail}`);
}

/** Sequential big-endian reader over a byte array; every read is bounds-checked. */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    if (!(bytes instanceof Uint8Array)) fail(CodecErrorCode.NOT_BYTES, what, "input is not a byte array");
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Bytes read so far: where the next value starts in the input. */
  get position(): number {
    return this.offset;
  }

  private need(n: number): void {
    if (this.remaining < n)
      fail(CodecErrorCode.TRUNCATED, this.what, `needs ${n} more bytes at offset ${this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  /** A copy of the next n bytes (decoded values never alias the input buffer). */
  bytesN(n: number): Uint8Array {
    this.need(n);
    // A plain Uint8Array copy: Buffer#slice would return a view into the input.
    const out = new Uint8Array(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  /** A count that must not exceed `max`; refuses before anything is allocated. */
  count(max: number, field: string): number {
    const n = this.u32();
    if (n > max) fail(CodecErrorCode.TOO_LARGE, this.what, `${field} ${n} exceeds ${max}`);
    return n;
  }

  /** Ends decoding: trailing bytes make the encoding non-canonical. */
  end(): void {
    if (this.remaining !== 0)
      fail(CodecErrorCode.TRAILING_BYTES, this.what, `${this.remaining} trailing bytes`);
  }
}

/**
 * Big-endian writer into a buffer of known size. Integers are written byte by byte: a DataView
 * needs the array's ArrayBuffer, and asking a small (on-heap) Uint8Array for it makes V8 move the
 * bytes off the heap first, which cost more than the whole encoding of an account or transfer.
 */
export class ByteWriter {
  private offset = 0;
  readonly bytes: Uint8Array;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  u8(v: number): this {
    this.bytes[this.offset++] = v;
    return this;
  }

  u32(v: number): this {
    const b = this.bytes;
    const o = this.offset;
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
    this.offset = o + 4;
    return this;
  }

  u64(v: bigint): this {
    // BigInt.asUintN keeps setBigUint64's wrap-around for out-of-range values (callers check ranges).
    const wrapped = BigInt.asUintN(64, v);
    this.u32(Number(wrapped >> 32n));
    return this.u32(Number(wrapped & 0xffffffffn));
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.offset);
    this.offset += b.length;
    return this;
  }

  /** Returns the bytes; throws if the declared size was not filled exactly (an encoder bug). */
  finish(): Uint8Array {
    if (this.offset !== this.bytes.length)
      throw new Error(`encoder wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

export function outOfRange(what: string, detail: string): never {
  fail(CodecErrorCode.OUT_OF_RANGE, what, detail);
}

export function tooLarge(what: string, detail: string): never {
  fail(CodecErrorCode.TOO_LARGE, what, detail);
}
