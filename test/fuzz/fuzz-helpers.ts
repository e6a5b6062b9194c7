import fc from "fast-check";

/** Cases per property: FUZZ_RUNS (default 2000) — `FUZZ_RUNS=100000 npx vitest run test/fuzz` for long runs. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

/** Seed for reproducing a failure (fast-check prints it): FUZZ_SEED=<n>. */
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** fast-check parameters shared by every fuzz property. */
export function fuzzParams(runs = FUZZ_RUNS): fc.Parameters<unknown> {
  return { numRuns: runs, ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }) };
}

type Edit = { op: "set" | "insert" | "delete"; at: number; byte: number };

function applyEdits(
  seed: Uint8Array,
  edits: readonly Edit[],
  cut: number | null,
  tail: Uint8Array,
): Uint8Array {
  const bytes = [...seed];
  for (const e of edits) {
    const at = bytes.length === 0 ? 0 : e.at % bytes.length;
    if (e.op === "set") bytes[at] = e.byte;
    else if (e.op === "insert") bytes.splice(at, 0, e.byte);
    else bytes.splice(at, 1);
  }
  const out = cut === null ? bytes : bytes.slice(0, cut % (bytes.length + 1));
  return Uint8Array.from([...out, ...tail]);
}

/**
 * Hostile inputs for a decoder: random bytes, and valid encodings with a few bytes set, inserted or
 * deleted, cut short, or extended; length fields therefore often claim far more than is there.
 */
export function hostileBytes(seeds: readonly Uint8Array[], maxRandom = 600): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({
    op: fc.constantFrom<Edit["op"]>("set", "insert", "delete"),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  });
  const mutated = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(edit, { maxLength: 4 }),
      fc.option(fc.nat(), { nil: null }),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([seed, edits, cut, tail]) => applyEdits(seed, edits, cut, tail));
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
    { weight: 3, arbitrary: mutated },
  );
}

/**
 * Runs `decode` and classifies the outcome: the decoded value, or the typed error it threw.
 * Anything else (a TypeError from inside, a RangeError "Invalid array length", a plain Error)
 * is rethrown, failing the property.
 */
export function decodeOrTypedError<T>(
  decode: () => T,
  isTyped: (err: unknown) => boolean,
): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: decode() };
  } catch (err) {
    if (isTyped(err)) return { ok: false, error: err };
    throw err;
  }
}
