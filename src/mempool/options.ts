/**
 * Mempool limits and policy. Defaults follow geth's txpool and bcoin's mempool where the
 * requirements are silent; docs/MEMPOOL.md explains each choice.
 */
export interface MempoolOptions {
  /** most transactions held (geth: 4096 pending + 1024 queued slots) */
  maxTxs: number;
  /** most encoded bytes held */
  maxBytes: number;
  /** most transactions of one sender, executable and waiting together (geth accountQueue: 64) */
  maxTxsPerSender: number;
  /**
   * how far past the sender's next executable nonce a transaction may be and still wait
   * (a gap of up to this many nonces); this also bounds the waiting queue per sender
   */
  maxNonceGap: number;
  /** minimum fee rate, in base units per 1000 bytes (bcoin's min relay fee); 1 = no free transfers */
  minFeePerKb: bigint;
  /** replacement of a sender's nonce needs a fee rate at least this many percent higher (geth: 10) */
  replacementBumpPercent: number;
  /** a transaction leaves the pool this long after it entered (geth lifetime: 3 h) */
  expirySeconds: number;
  /** how often start() sweeps expired transactions; 0 = only on add/select */
  expirySweepIntervalMs: number;
}

export const DEFAULT_MEMPOOL_OPTIONS: Readonly<MempoolOptions> = Object.freeze({
  maxTxs: 20_000,
  maxBytes: 3_000_000,
  maxTxsPerSender: 64,
  maxNonceGap: 16,
  minFeePerKb: 1n,
  replacementBumpPercent: 10,
  expirySeconds: 3 * 60 * 60,
  expirySweepIntervalMs: 60_000,
});

/** Fills unset fields with the defaults and checks the ranges. */
export function resolveMempoolOptions(opts: Partial<MempoolOptions> = {}): MempoolOptions {
  const o: MempoolOptions = { ...DEFAULT_MEMPOOL_OPTIONS, ...opts };
  const positiveInts = ["maxTxs", "maxBytes", "maxTxsPerSender"] as const;
  for (const key of positiveInts) {
    if (!Number.isInteger(o[key]) || o[key] < 1)
      throw new RangeError(`mempool ${key} must be a positive integer`);
  }
  const nonNegative = [
    "maxNonceGap",
    "replacementBumpPercent",
    "expirySeconds",
    "expirySweepIntervalMs",
  ] as const;
  for (const key of nonNegative) {
    if (!Number.isFinite(o[key]) || o[key] < 0) throw new RangeError(`mempool ${key} must be >= 0`);
  }
  if (typeof o.minFeePerKb !== "bigint" || o.minFeePerKb < 0n)
    throw new RangeError("mempool minFeePerKb must be a bigint >= 0");
  return o;
}
