import { SHA256_IV, SHA256_K } from "../primitives/index.js";

/**
 * Generator of `sha256-kernel.ts`: the straight-line (fully unrolled) SHA-256 code the miner runs.
 *
 * Writing 2×64 unrolled rounds by hand invites typos, and the interesting part — which values are
 * literals, which are fixed for a whole job and which change with every nonce — is easier to get
 * right mechanically. So the rounds are written once here, over symbolic values of three kinds:
 *
 * - literal: known now (round constants, IV, padding words); folded into numbers in the output;
 * - job: fixed for one mining job (midstate, header words 64..107, nonceHigh); computed once per
 *   job by `prepareKernel` and passed to the scan loop as locals;
 * - runtime: depends on the nonce; emitted as one `const` per value inside the loop.
 *
 * Sums mix kinds: the literal and job terms of a sum are folded into one job constant, so e.g.
 * rounds 0..11 of the header's second block and the schedule words that do not depend on the nonce
 * (W16..W18, W20, W22, W24 and parts of many others) cost nothing per nonce. Values nobody reads
 * (the last rounds' `e`, the digest words after the first) are dropped. After a change, rebuild
 * and regenerate:
 *
 *   npm run build && node -e 'import("./dist/src/miner/kernel-codegen.js").then((m) =>
 *     require("node:fs").writeFileSync("src/miner/sha256-kernel.ts", m.generateKernelSource()))'
 *
 * (then rebuild again); a unit test fails while the committed file is stale.
 */

const K = SHA256_K;

const IV = SHA256_IV;

const LITERAL = 0;
const JOB = 1;
const RUNTIME = 2;
type Kind = typeof LITERAL | typeof JOB | typeof RUNTIME;

interface Val {
  kind: Kind;
  /** JS expression (a name when `named`) */
  code: string;
  /** the int32 value of a literal */
  value: number;
  named: boolean;
}

interface Stmt {
  name: string;
  code: string;
}

const rotrNum = (x: number, k: number): number => (x >>> k) | (x << (32 - k));

class Builder {
  readonly setup: Stmt[] = [];
  readonly body: Stmt[] = [];
  private readonly memo = new Map<string, Val>();
  private counter = 0;

  lit(value: number): Val {
    const v = value | 0;
    return { kind: LITERAL, code: v < 0 ? `(${v})` : `${v}`, value: v, named: true };
  }

  input(kind: Kind, name: string): Val {
    return { kind, code: name, value: 0, named: true };
  }

  /** Give a value a name (one `const`), reusing an identical expression computed before. */
  name(v: Val, hint: string): Val {
    if (v.named) return v;
    const hit = this.memo.get(v.code);
    if (hit) return hit;
    const name = `${hint}_${this.counter++}`;
    (v.kind === JOB ? this.setup : this.body).push({ name, code: v.code });
    const out: Val = { kind: v.kind, code: name, value: 0, named: true };
    this.memo.set(v.code, out);
    return out;
  }

  /** Operands of a runtime expression: job sub-expressions are computed once per job, not per nonce. */
  private operands(xs: Val[]): { kind: Kind; xs: Val[] } {
    const kind = Math.max(...xs.map((x) => x.kind)) as Kind;
    if (kind === RUNTIME) xs = xs.map((x) => (x.kind === JOB ? this.name(x, "j") : x));
    return { kind, xs };
  }

  xor(...input: Val[]): Val {
    if (input.every((x) => x.kind === LITERAL)) return this.lit(input.reduce((a, x) => a ^ x.value, 0));
    const { kind, xs } = this.operands(input);
    return { kind, code: `(${xs.map((x) => x.code).join(" ^ ")})`, value: 0, named: false };
  }

  and(a: Val, b: Val): Val {
    if (a.kind === LITERAL && b.kind === LITERAL) return this.lit(a.value & b.value);
    const { kind, xs } = this.operands([a, b]);
    return { kind, code: `(${xs[0]!.code} & ${xs[1]!.code})`, value: 0, named: false };
  }

  rotr(x: Val, k: number): Val {
    if (x.kind === LITERAL) return this.lit(rotrNum(x.value, k));
    const n = this.name(x, "x");
    return { kind: n.kind, code: `(${n.code} >>> ${k} | ${n.code} << ${32 - k})`, value: 0, named: false };
  }

  shr(x: Val, k: number): Val {
    if (x.kind === LITERAL) return this.lit(x.value >>> k);
    const n = this.name(x, "x");
    return { kind: n.kind, code: `(${n.code} >>> ${k})`, value: 0, named: false };
  }

  add(...input: Val[]): Val {
    const literal = input.filter((x) => x.kind === LITERAL).reduce((a, x) => (a + x.value) | 0, 0);
    let terms = input.filter((x) => x.kind !== LITERAL);
    if (literal !== 0) terms.push(this.lit(literal));
    if (terms.length === 0) return this.lit(0);
    const kind = Math.max(...terms.map((x) => x.kind)) as Kind;
    if (kind === RUNTIME) {
      // Fold every term fixed for the job into one precomputed constant.
      const fixed = terms.filter((x) => x.kind !== RUNTIME);
      const varying = terms.filter((x) => x.kind === RUNTIME);
      terms = varying;
      if (fixed.length === 1) terms.push(fixed[0]!.kind === JOB ? this.name(fixed[0]!, "j") : fixed[0]!);
      else if (fixed.length > 1) terms.push(this.name(this.add(...fixed), "j"));
    }
    if (terms.length === 1) return terms[0]!;
    return { kind, code: `(${terms.map((x) => x.code).join(" + ")})`, value: 0, named: false };
  }

  bigSigma0(a: Val): Val {
    return this.xor(this.rotr(a, 2), this.rotr(a, 13), this.rotr(a, 22));
  }
  bigSigma1(e: Val): Val {
    return this.xor(this.rotr(e, 6), this.rotr(e, 11), this.rotr(e, 25));
  }
  smallSigma0(x: Val): Val {
    return this.xor(this.rotr(x, 7), this.rotr(x, 18), this.shr(x, 3));
  }
  smallSigma1(x: Val): Val {
    return this.xor(this.rotr(x, 17), this.rotr(x, 19), this.shr(x, 10));
  }

  /** The 64-round compression of one block; returns the new working variables a..h (not yet added to the state). */
  rounds(state: Val[], block: Val[], tag: string): Val[] {
    const w = block.map((x, i) => this.name(x, `${tag}w${i}`));
    for (let i = 16; i < 64; i++) {
      const wi = this.add(this.smallSigma1(w[i - 2]!), w[i - 7]!, this.smallSigma0(w[i - 15]!), w[i - 16]!);
      w.push(this.name(wi, `${tag}w${i}`));
    }
    let [a, b, c, d, e, f, g, h] = state as [Val, Val, Val, Val, Val, Val, Val, Val];
    for (let i = 0; i < 64; i++) {
      const ch = this.xor(g, this.and(e, this.xor(f, g)));
      const t1 = this.name(this.add(h, this.bigSigma1(e), ch, this.lit(K[i]!), w[i]!), `${tag}t${i}`);
      // Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)); this round's a ^ b is the next round's b ^ c.
      const ab = this.name(this.xor(a, b), `${tag}ab${i}`);
      const bc = this.name(this.xor(b, c), `${tag}bc${i}`);
      const maj = this.xor(b, this.and(ab, bc));
      const newA = this.name(this.add(t1, this.bigSigma0(a), maj), `${tag}a${i}`);
      const newE = this.name(this.add(d, t1), `${tag}e${i}`);
      [a, b, c, d, e, f, g, h] = [newA, a, b, c, newE, e, f, g];
    }
    return [a, b, c, d, e, f, g, h];
  }
}

/** Keep only the statements the outputs (transitively) read, in order. */
function live(stmts: Stmt[], roots: Set<string>): Stmt[] {
  const need = new Set(roots);
  const keep: Stmt[] = [];
  for (let i = stmts.length - 1; i >= 0; i--) {
    const s = stmts[i]!;
    if (!need.has(s.name)) continue;
    keep.push(s);
    for (const id of s.code.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) need.add(id);
  }
  return keep.reverse();
}

function identifiers(code: string[]): Set<string> {
  return new Set(code.flatMap((c) => c.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []));
}

function generateCompress(): string {
  const b = new Builder();
  const state = IV.map((_, i) => b.input(RUNTIME, `s${i}`));
  const block = Array.from({ length: 16 }, (_, i) => b.input(RUNTIME, `m${i}`));
  const out = b.rounds(state, block, "");
  const sums = out.map((v, i) => b.add(state[i]!, v).code);
  const body = live(b.body, identifiers(sums));
  return [
    "/** One SHA-256 compression: `out` = `state` after absorbing the 16-word `block` (words as int32). */",
    "export function compress(state: Int32Array, block: Int32Array, out: Int32Array): void {",
    ...state.map((_, i) => `  const s${i} = state[${i}]!;`),
    ...block.map((_, i) => `  const m${i} = block[${i}]!;`),
    ...body.map((s) => `  const ${s.name} = ${s.code} | 0;`),
    ...sums.map((code, i) => `  out[${i}] = ${code};`),
    "}",
  ].join("\n");
}

function generateScan(): string {
  const b = new Builder();
  // Second block of the 116-byte header: bytes 64..115 are words 0..12 (word 11 = nonce high,
  // word 12 = nonce low), then the 0x80 padding byte, zeros, and the length 116 × 8 = 928 bits.
  const mid = IV.map((_, i) => b.input(JOB, `mid${i}`));
  const tail = Array.from({ length: 12 }, (_, i) => b.input(JOB, `tail${i}`));
  const block1 = [...tail, b.input(RUNTIME, "nonce"), b.lit(0x80000000), b.lit(0), b.lit(928)];
  const first = b.rounds(mid, block1, "p");
  const digest1 = first.map((v, i) => b.name(b.add(mid[i]!, v), `d${i}`));
  // The second SHA-256 hashes the 32-byte digest: one block, padding 0x80, length 256 bits.
  const block2 = [...digest1, b.lit(0x80000000), ...Array.from({ length: 6 }, () => b.lit(0)), b.lit(256)];
  const second = b.rounds(
    IV.map((x) => b.lit(x)),
    block2,
    "q",
  );
  const h0 = b.add(b.lit(IV[0]!), second[0]!).code;
  const body = live(b.body, identifiers([h0]));
  const jobValues = new Set([
    ...b.setup.map((s) => s.name),
    ...mid.map((x) => x.code),
    ...tail.map((x) => x.code),
  ]);
  const jobNames = [...identifiers(body.map((s) => s.code))].filter((id) => jobValues.has(id));
  const setup = live(b.setup, new Set(jobNames));
  return [
    "/**",
    " * Per-job constants of {@link scanKernel}: everything in the two SHA-256 passes that does not",
    " * depend on the low nonce word. `mid` is the midstate (state after the header's first 64 bytes),",
    " * `tail` the words of header bytes 64..111 (word 11 is the high nonce word).",
    " */",
    "export function prepareKernel(mid: Int32Array, tail: Int32Array): Int32Array {",
    ...mid.map((_, i) => `  const mid${i} = mid[${i}]!;`),
    ...tail.map((_, i) => `  const tail${i} = tail[${i}]!;`),
    ...setup.map((s) => `  const ${s.name} = ${s.code} | 0;`),
    `  return Int32Array.of(${jobNames.join(", ")});`,
    "}",
    "",
    "/**",
    " * Scan low nonce words `start` ≤ n < `end`; return the first n whose SHA-256d digest, read",
    " * big-endian, has a first 32-bit word ≤ `target0` (unsigned), or -1. Only that first word is",
    " * computed; the caller checks the full digest of a candidate.",
    " */",
    "export function scanKernel(k: Int32Array, start: number, end: number, target0: number): number {",
    ...jobNames.map((name, i) => `  const ${name} = k[${i}]!;`),
    "  for (let n = start; n < end; n++) {",
    "    const nonce = n | 0;",
    ...body.map((s) => `    const ${s.name} = ${s.code} | 0;`),
    `    if (${h0} >>> 0 <= target0) return n;`,
    "  }",
    "  return -1;",
    "}",
  ].join("\n");
}

/** The full text of `sha256-kernel.ts`. */
export function generateKernelSource(): string {
  return [
    "// biome-ignore-all format: generated by src/miner/kernel-codegen.ts; regenerate, do not edit",
    "/**",
    " * GENERATED by `src/miner/kernel-codegen.ts` (see there for how): fully unrolled SHA-256 for the",
    " * miner. All values are int32; every sum is truncated with `| 0`.",
    " */",
    "",
    generateCompress(),
    "",
    generateScan(),
    "",
  ].join("\n");
}
