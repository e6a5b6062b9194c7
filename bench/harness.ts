/** One measured number, printed next to its target and (where known) the machine's limit. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The target, same unit; higher is better unless `lowerIsBetter`. */
  target?: number;
  lowerIsBetter?: boolean;
  /** The machine's ceiling measured in the same run, same unit. */
  limit?: number;
  note?: string;
  /**
   * This row is the machine limit of other suites' rows: run.ts copies `value` into the `limit` of
   * every row of `suite` whose name starts with `rowPrefix` and whose unit is the same.
   */
  limitFor?: { suite: string; rowPrefix: string };
}

export interface BenchSuite {
  name: string;
  /** Also run when one of these suites is selected alone (this suite measures their limit). */
  limitOf?: string[];
  run(): Promise<BenchResult[]>;
}

/** Runs `fn` repeatedly for at least `minMs` and returns operations per second. */
export function opsPerSecond(fn: () => void, minMs = 1000): number {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return (ops * 1000) / elapsed;
}
