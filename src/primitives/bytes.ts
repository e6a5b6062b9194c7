/** Byte helpers shared by every codec. Pure; no I/O. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/i;

/** Decodes even-length hex; throws TypeError on anything else (no silent truncation). */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) throw new TypeError("expected an even-length hex string");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function assertBytes(
  value: unknown,
  length: number | undefined,
  name: string,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

/** Overwrites a secret buffer in place. */
export function wipe(bytes: Uint8Array): void {
  bytes.fill(0);
}

export const U32_MAX = 0xffff_ffff;
export const U64_MAX = (1n << 64n) - 1n;

export function isU32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= U32_MAX;
}

export function isU64(value: unknown): value is bigint {
  return typeof value === "bigint" && value >= 0n && value <= U64_MAX;
}
