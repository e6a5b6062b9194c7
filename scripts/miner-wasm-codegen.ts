/**
 * Generator of the miner's WebAssembly SIMD kernel (src/miner/sha256d-simd.wat and .wasm): the
 * double-SHA-256 midstate nonce scan of src/miner/sha256-kernel.ts, four nonces at a time in the
 * lanes of a v128 (i32x4 arithmetic, rotations as shr_u/shl/xor, Ch as one bitselect).
 *
 * Like src/miner/kernel-codegen.ts it writes the rounds once over symbolic values of three kinds:
 * literal (folded now), job (fixed for one header and high nonce word: computed once per call in a
 * scalar prologue, with i32 instructions, then splatted) and runtime (depends on the nonce: one v128
 * local per value inside the loop). The job terms of a sum are folded into one job constant, values
 * nobody reads are dropped. Regenerate after a change with `npm run gen:miner-wasm`; a unit test
 * fails while the committed files differ from a fresh generation.
 *
 * The module's interface (see src/miner/wasm-kernel.ts):
 *   memory: words 0..7 the midstate, words 8..19 the words of header bytes 64..111 (word 19 is the
 *     high nonce word), as native i32;
 *   scan(start, count, target0) -> i32: the first offset 0 ≤ i < count (count ≤ 2^30) at which low
 *     nonce word start + i (mod 2^32) gives a SHA-256d digest whose first big-endian word is ≤
 *     target0 (unsigned), or -1.
 */
import wabtInit from "wabt";
import { SHA256_IV, SHA256_K } from "../src/primitives/index.js";

const K = SHA256_K;

const IV = SHA256_IV;

/** The word offsets in memory of the midstate and of the header words 64..111. */
export const SIMD_MIDSTATE_WORD = 0;
export const SIMD_TAIL_WORD = 8;

const LITERAL = 0;
const JOB = 1;
const RUNTIME = 2;
type Kind = typeof LITERAL | typeof JOB | typeof RUNTIME;

type Op = "lit" | "ref" | "add" | "xor" | "and" | "rotr" | "shr" | "bitselect";

interface Val {
  kind: Kind;
  op: Op;
  args: Val[];
  /** literal value (int32), or the shift/rotation count */
  n: number;
  /** the local's name, for "ref" */
  name: string;
}

interface Stmt {
  name: string;
  value: Val;
}

const rotrNum = (x: number, k: number): number => (x >>> k) | (x << (32 - k));

/** A structural key: equal keys compute equal values. */
function key(v: Val): string {
  switch (v.op) {
    case "lit":
      return `${v.n}`;
    case "ref":
      return v.name;
    case "rotr":
    case "shr":
      return `${v.op}(${key(v.args[0]!)},${v.n})`;
    default:
      return `${v.op}(${v.args.map(key).join(",")})`;
  }
}

function refs(v: Val, out: Set<string>): void {
  if (v.op === "ref") out.add(v.name);
  for (const a of v.args) refs(a, out);
}

class Builder {
  readonly setup: Stmt[] = [];
  readonly body: Stmt[] = [];
  private readonly memo = new Map<string, Val>();
  private counter = 0;

  lit(value: number): Val {
    return { kind: LITERAL, op: "lit", args: [], n: value | 0, name: "" };
  }

  input(kind: Kind, name: string): Val {
    return { kind, op: "ref", args: [], n: 0, name };
  }

  /** Give a value a local (one statement), reusing an identical expression computed before. */
  name(v: Val, hint: string): Val {
    if (v.op === "ref" || v.op === "lit") return v;
    const k = key(v);
    const hit = this.memo.get(k);
    if (hit) return hit;
    const name = `${hint}_${this.counter++}`;
    (v.kind === JOB ? this.setup : this.body).push({ name, value: v });
    const out = this.input(v.kind, name);
    this.memo.set(k, out);
    return out;
  }

  private node(op: Op, input: Val[], n = 0): Val {
    const kind = Math.max(...input.map((x) => x.kind)) as Kind;
    // In a runtime expression every job operand is a named (splatted) job value.
    const args = kind === RUNTIME ? input.map((x) => (x.kind === JOB ? this.name(x, "j") : x)) : input;
    return { kind, op, args, n, name: "" };
  }

  xor(...input: Val[]): Val {
    if (input.every((x) => x.kind === LITERAL)) return this.lit(input.reduce((a, x) => a ^ x.n, 0));
    return this.node("xor", input);
  }

  and(a: Val, b: Val): Val {
    if (a.kind === LITERAL && b.kind === LITERAL) return this.lit(a.n & b.n);
    return this.node("and", [a, b]);
  }

  /** Ch(e, f, g) = (e & f) | (~e & g): one v128.bitselect at run time. */
  ch(e: Val, f: Val, g: Val): Val {
    if (Math.max(e.kind, f.kind, g.kind) !== RUNTIME) return this.xor(g, this.and(e, this.xor(f, g)));
    return this.node("bitselect", [f, g, e]);
  }

  rotr(x: Val, k: number): Val {
    if (x.kind === LITERAL) return this.lit(rotrNum(x.n, k));
    return this.node("rotr", [this.name(x, "x")], k);
  }

  shr(x: Val, k: number): Val {
    if (x.kind === LITERAL) return this.lit(x.n >>> k);
    return this.node("shr", [this.name(x, "x")], k);
  }

  add(...input: Val[]): Val {
    const literal = input.filter((x) => x.kind === LITERAL).reduce((a, x) => (a + x.n) | 0, 0);
    let terms = input.filter((x) => x.kind !== LITERAL);
    if (literal !== 0) terms.push(this.lit(literal));
    if (terms.length === 0) return this.lit(0);
    const kind = Math.max(...terms.map((x) => x.kind)) as Kind;
    if (kind === RUNTIME) {
      // Fold every term fixed for the job into one precomputed constant.
      const fixed = terms.filter((x) => x.kind !== RUNTIME);
      terms = terms.filter((x) => x.kind === RUNTIME);
      if (fixed.length === 1) terms.push(fixed[0]!);
      else if (fixed.length > 1) terms.push(this.name(this.add(...fixed), "j"));
    }
    if (terms.length === 1) return terms[0]!;
    return this.node("add", terms);
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

  /** The 64-round compression of one block; returns the working variables a..h (not yet added to the state). */
  rounds(state: Val[], block: Val[], tag: string): Val[] {
    const w = block.map((x, i) => this.name(x, `${tag}w${i}`));
    for (let i = 16; i < 64; i++) {
      const wi = this.add(this.smallSigma1(w[i - 2]!), w[i - 7]!, this.smallSigma0(w[i - 15]!), w[i - 16]!);
      w.push(this.name(wi, `${tag}w${i}`));
    }
    let [a, b, c, d, e, f, g, h] = state as [Val, Val, Val, Val, Val, Val, Val, Val];
    let bc = this.name(this.xor(b, c), `${tag}bc`);
    for (let i = 0; i < 64; i++) {
      const t1 = this.name(
        this.add(h, this.bigSigma1(e), this.ch(e, f, g), this.lit(K[i]!), w[i]!),
        `${tag}t${i}`,
      );
      // Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)); this round's a ^ b is the next round's b ^ c.
      const ab = this.name(this.xor(a, b), `${tag}ab${i}`);
      const maj = this.xor(b, this.and(ab, bc));
      const newA = this.name(this.add(t1, this.bigSigma0(a), maj), `${tag}a${i}`);
      const newE = this.name(this.add(d, t1), `${tag}e${i}`);
      [a, b, c, d, e, f, g, h] = [newA, a, b, c, newE, e, f, g];
      bc = ab;
    }
    return [a, b, c, d, e, f, g, h];
  }
}

/** Keep only the statements the roots (transitively) read, in order. */
function live(stmts: Stmt[], roots: Set<string>): Stmt[] {
  const need = new Set(roots);
  const keep: Stmt[] = [];
  for (let i = stmts.length - 1; i >= 0; i--) {
    const s = stmts[i]!;
    if (!need.has(s.name)) continue;
    keep.push(s);
    refs(s.value, need);
  }
  return keep.reverse();
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** A job (scalar i32) expression. */
function scalar(v: Val): string {
  const a = v.args;
  switch (v.op) {
    case "lit":
      return `(i32.const ${hex(v.n)})`;
    case "ref":
      return `(local.get $${v.name})`;
    case "rotr":
      return `(i32.rotr ${scalar(a[0]!)} (i32.const ${v.n}))`;
    case "shr":
      return `(i32.shr_u ${scalar(a[0]!)} (i32.const ${v.n}))`;
    case "add":
    case "xor":
    case "and":
      return a.map(scalar).reduce((acc, x) => `(i32.${v.op} ${acc} ${x})`);
    case "bitselect":
      throw new Error("bitselect is a runtime operation");
  }
}

/** A runtime (v128, four lanes) expression; job locals are read through their splatted copies. */
function vector(v: Val, splatted: Set<string>): string {
  const a = v.args;
  const sub = (x: Val): string => vector(x, splatted);
  switch (v.op) {
    case "lit":
      return `(v128.const i32x4 ${hex(v.n)} ${hex(v.n)} ${hex(v.n)} ${hex(v.n)})`;
    case "ref":
      if (v.kind === JOB) {
        splatted.add(v.name);
        return `(local.get $v_${v.name})`;
      }
      return `(local.get $${v.name})`;
    case "rotr":
      return `(v128.or (i32x4.shr_u ${sub(a[0]!)} (i32.const ${v.n})) (i32x4.shl ${sub(a[0]!)} (i32.const ${32 - v.n})))`;
    case "shr":
      return `(i32x4.shr_u ${sub(a[0]!)} (i32.const ${v.n}))`;
    case "add":
      return a.map(sub).reduce((acc, x) => `(i32x4.add ${acc} ${x})`);
    case "xor":
    case "and":
      return a.map(sub).reduce((acc, x) => `(v128.${v.op} ${acc} ${x})`);
    case "bitselect":
      return `(v128.bitselect ${a.map(sub).join(" ")})`;
  }
}

/** The text of the kernel module (deterministic: the same text on every run). */
export function generateSimdKernelWat(): string {
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
  const h0 = b.name(b.add(b.lit(IV[0]!), second[0]!), "h0");
  const body = live(b.body, new Set([h0.name]));
  const splatted = new Set<string>();
  const bodyCode = body.map((s) => `      (local.set $${s.name} ${vector(s.value, splatted)})`);
  const setup = live(b.setup, splatted);
  const inputs = [
    ...mid.map((x, i) => ({ name: x.name, word: SIMD_MIDSTATE_WORD + i })),
    ...tail.map((x, i) => ({ name: x.name, word: SIMD_TAIL_WORD + i })),
  ];
  const scalarLocals = [...inputs.map((x) => x.name), ...setup.map((s) => s.name)];
  const vectorLocals = [...[...splatted].map((n) => `v_${n}`), ...body.map((s) => s.name)];
  const lane = (i: number): string[] => [
    `          (if (i32.and (i32.lt_u (i32.add (local.get $i) (i32.const ${i})) (local.get $count))`,
    `                       (i32.le_u (i32x4.extract_lane ${i} (local.get $${h0.name})) (local.get $target0)))`,
    `            (then (return (i32.add (local.get $i) (i32.const ${i})))))`,
  ];
  return [
    ";; GENERATED by scripts/miner-wasm-codegen.ts (npm run gen:miner-wasm); do not edit.",
    ";; SHA-256d midstate nonce scan, four nonces per i32x4 lane group.",
    "(module",
    '  (memory (export "memory") 1)',
    '  (func (export "scan") (param $start i32) (param $count i32) (param $target0 i32) (result i32)',
    "    (local $i i32) (local $nonce v128) (local $target v128)",
    ...scalarLocals.map((n) => `    (local $${n} i32)`),
    ...vectorLocals.map((n) => `    (local $${n} v128)`),
    ...inputs.map((x) => `    (local.set $${x.name} (i32.load offset=${4 * x.word} (i32.const 0)))`),
    ...setup.map((s) => `    (local.set $${s.name} ${scalar(s.value)})`),
    ...[...splatted].map((n) => `    (local.set $v_${n} (i32x4.splat (local.get $${n})))`),
    "    (local.set $target (i32x4.splat (local.get $target0)))",
    "    (local.set $nonce (i32x4.add (i32x4.splat (local.get $start)) (v128.const i32x4 0 1 2 3)))",
    "    (block $done",
    "      (loop $next",
    "      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))",
    ...bodyCode,
    "      ;; unsigned h0 <= target0 in any lane: return the first such lane inside the range",
    `      (if (v128.any_true (i32x4.le_u (local.get $${h0.name}) (local.get $target)))`,
    "        (then",
    ...[0, 1, 2, 3].flatMap(lane),
    "        ))",
    "      (local.set $nonce (i32x4.add (local.get $nonce) (v128.const i32x4 4 4 4 4)))",
    "      (local.set $i (i32.add (local.get $i) (i32.const 4)))",
    "      (br $next)))",
    "    (i32.const -1))",
    ")",
    "",
  ].join("\n");
}

/** Assemble the kernel's text with wabt (the pinned dev dependency) into the module's bytes. */
export async function assembleSimdKernel(wat: string = generateSimdKernelWat()): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat("sha256d-simd.wat", wat, { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}
