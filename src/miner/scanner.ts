/**
 * The pure nonce search: no threads, no I/O, no clock. The worker shell calls it in chunks.
 *
 * The 64-bit nonce (header bytes 108..115, big-endian) is split into a high and a low 32-bit word.
 * A job fixes the header and the high word; {@link searchNonce} walks low words, so the hot loop
 * stays on 32-bit integers. Everything that does not depend on the low word — the midstate of the
 * first 64 bytes, 12½ rounds of the second block, most of its message schedule — is computed once
 * in {@link createScanJob}.
 */
import { hashToBigInt } from "../consensus/pow.js";
import { HEADER_NONCE_OFFSET, HEADER_SIZE, U32_MAX } from "../primitives/index.js";
import { prepareKernel, scanKernel } from "./sha256-kernel.js";
import { headerDigestFromMidstate, headerMidstate, readWordsBE } from "./sha256-midstate.js";

/** Low nonce words run over [0, 2^32). */
export const NONCE_LOW_SPACE = 2 ** 32;

const TWO_256 = 1n << 256n;

/** Everything the scan loop needs for one (header, target, nonceHigh); build with {@link createScanJob}. */
export interface ScanJob {
  /** the 116 header bytes (a private copy; the nonce field is ignored) */
  readonly header: Uint8Array;
  readonly target: bigint;
  readonly nonceHigh: number;
  readonly midstate: Int32Array;
  /** the scan loop's per-job constants */
  readonly kernel: Int32Array;
  /** the target's most significant 32 bits: the cheap first test of every hash */
  readonly target0: number;
}

/** What one call of {@link searchNonce} did. */
export interface SearchResult {
  /** the full 64-bit nonce of the first hash ≤ target in the range, if any */
  nonce: bigint | undefined;
  /** the digest of that nonce's header (SHA-256d, the block id) */
  hash: Uint8Array | undefined;
  /** nonces hashed, up to and including the winner */
  hashes: number;
}

/**
 * Prepare a search over `header` (116 bytes, any nonce) with high nonce word `nonceHigh` for a
 * hash ≤ `target` (the digest read big-endian, as `hashToBigInt`).
 *
 * @throws TypeError / RangeError on a malformed header, a target outside [0, 2^256), or a
 *   nonceHigh outside u32
 */
export function createScanJob(header: Uint8Array, target: bigint, nonceHigh: number): ScanJob {
  if (!(header instanceof Uint8Array)) throw new TypeError("header must be a Uint8Array");
  if (header.length !== HEADER_SIZE)
    throw new RangeError(`header must be ${HEADER_SIZE} bytes, got ${header.length}`);
  if (typeof target !== "bigint") throw new TypeError("target must be a bigint");
  if (target < 0n || target >= TWO_256) throw new RangeError("target must be in [0, 2^256)");
  if (!Number.isInteger(nonceHigh) || nonceHigh < 0 || nonceHigh > U32_MAX) {
    throw new RangeError(`nonceHigh must be a u32, got ${nonceHigh}`);
  }
  const copy = Uint8Array.from(header);
  const midstate = headerMidstate(copy);
  // Words of header bytes 64..111: 11 fixed words, then the high nonce word.
  const tail = readWordsBE(copy, 64, 12);
  tail[(HEADER_NONCE_OFFSET - 64) / 4] = nonceHigh | 0;
  return {
    header: copy,
    target,
    nonceHigh,
    midstate,
    kernel: prepareKernel(midstate, tail),
    target0: Number(target >> 224n),
  };
}

/**
 * Search low nonce words `startNonce` ≤ n < `endNonce` (within [0, 2^32]) for the first whose
 * header hash is ≤ the job's target.
 *
 * The loop computes only the digest's first 32-bit word; a candidate at or below the target's
 * first word (rare unless the target is easy) is checked on the full 256 bits.
 */
export function searchNonce(job: ScanJob, startNonce: number, endNonce: number): SearchResult {
  if (!Number.isInteger(startNonce) || !Number.isInteger(endNonce)) {
    throw new TypeError("startNonce and endNonce must be integers");
  }
  if (startNonce < 0 || endNonce > NONCE_LOW_SPACE || startNonce > endNonce) {
    throw new RangeError(`nonce range [${startNonce}, ${endNonce}) must lie within [0, 2^32)`);
  }
  let n = startNonce;
  while (n < endNonce) {
    const candidate = scanKernel(job.kernel, n, endNonce, job.target0);
    if (candidate < 0) break;
    const hash = headerDigestFromMidstate(job.midstate, job.header, job.nonceHigh, candidate);
    if (hashToBigInt(hash) <= job.target) {
      return {
        nonce: (BigInt(job.nonceHigh) << 32n) | BigInt(candidate),
        hash,
        hashes: candidate - startNonce + 1,
      };
    }
    n = candidate + 1;
  }
  return { nonce: undefined, hash: undefined, hashes: endNonce - startNonce };
}
