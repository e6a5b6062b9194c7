/**
 * The pure nonce search: no threads, no I/O, no clock. The worker shell calls it in chunks.
 *
 * The 64-bit nonce (header bytes 108..115, big-endian) is split into a high and a low 32-bit word.
 * A job fixes the header and the high word; {@link searchNonce} walks low words, so the hot loop
 * stays on 32-bit integers. Everything that does not depend on the low word — the midstate of the
 * first 64 bytes, 12½ rounds of the second block, most of its message schedule — is computed once
 * in {@link createScanJob}.
 *
 * Two kernels answer the same question bit for bit: the generated unrolled JavaScript of
 * sha256-kernel.ts, one nonce at a time, and the generated WebAssembly SIMD module of
 * wasm-kernel.ts, four nonces at a time (used by default where the runtime supports it).
 */
import { hashToBigInt } from "../consensus/index.js";
import { HEADER_NONCE_OFFSET, HEADER_SIZE, U32_MAX } from "../primitives/index.js";
import { MinerError, MinerErrorCode } from "./errors.js";
import { prepareKernel, scanKernel } from "./sha256-kernel.js";
import { headerDigestFromMidstate, headerMidstate, readWordsBE } from "./sha256-midstate.js";
import { loadSimdKernel, MINER_KERNELS, type MinerKernel, type SimdScanKernel } from "./wasm-kernel.js";

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
  /** the words of header bytes 64..111, the last one the high nonce word */
  readonly tail: Int32Array;
  /** the kernel this job scans with (`auto` resolved) */
  readonly kernel: "js" | "wasm";
  /** the JS kernel's per-job constants (empty for the WebAssembly kernel) */
  readonly constants: Int32Array;
  readonly simd: SimdScanKernel | undefined;
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
 * hash ≤ `target` (the digest read big-endian, as `hashToBigInt`), with `kernel`: `auto` takes the
 * WebAssembly SIMD kernel where the runtime supports it and the JS kernel elsewhere.
 *
 * @throws TypeError / RangeError on a malformed header, a target outside [0, 2^256), a nonceHigh
 *   outside u32 or an unknown kernel; MinerError KERNEL_UNAVAILABLE for `wasm` without SIMD support
 */
export function createScanJob(
  header: Uint8Array,
  target: bigint,
  nonceHigh: number,
  kernel: MinerKernel = "auto",
): ScanJob {
  if (!(header instanceof Uint8Array)) throw new TypeError("header must be a Uint8Array");
  if (header.length !== HEADER_SIZE)
    throw new RangeError(`header must be ${HEADER_SIZE} bytes, got ${header.length}`);
  if (typeof target !== "bigint") throw new TypeError("target must be a bigint");
  if (target < 0n || target >= TWO_256) throw new RangeError("target must be in [0, 2^256)");
  if (!Number.isInteger(nonceHigh) || nonceHigh < 0 || nonceHigh > U32_MAX) {
    throw new RangeError(`nonceHigh must be a u32, got ${nonceHigh}`);
  }
  if (!MINER_KERNELS.includes(kernel))
    throw new RangeError(`kernel must be one of ${MINER_KERNELS.join("|")}`);
  const simd = kernel === "js" ? undefined : loadSimdKernel();
  if (kernel === "wasm" && !simd) {
    throw new MinerError(MinerErrorCode.KERNEL_UNAVAILABLE, "this runtime does not support WebAssembly SIMD");
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
    tail,
    kernel: simd ? "wasm" : "js",
    constants: simd ? new Int32Array(0) : prepareKernel(midstate, tail),
    simd,
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
    const candidate = job.simd
      ? job.simd.scan(job.midstate, job.tail, n, endNonce, job.target0)
      : scanKernel(job.constants, n, endNonce, job.target0);
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
