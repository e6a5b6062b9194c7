import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AsertInput, nextTargetAsert } from "../../../src/consensus/asert.js";
import { compactToTarget, targetToCompact } from "../../../src/consensus/pow.js";
import { vectorDir as publishedVectors } from "../../helpers/vectors.js";

// Bitcoin Cash mainnet parameters, which the published aserti3-2d vectors use.
const BCH = { targetSpacing: 600, halfLife: 172800, powLimit: compactToTarget(0x1d00ffff).target };

interface Anchor {
  anchorHeight: bigint;
  anchorParentTime: bigint;
  anchorBits: number;
}

/**
 * One vector row "iteration height time target": `height` and `time` are those of the
 * evaluation block (the tip), `target` the bits of the NEXT block (height + 1). So a row maps to
 * tipHeight = height, tipTime = time, expected = target. Confirmed by run04 row 1: tip at height 2,
 * time 174000 = 1200 + 172800 is one half-life behind schedule (anchor parent time 0, two blocks
 * after it) and the target doubles from 0x01010000 to 0x01020000.
 */
interface Row {
  height: bigint;
  time: bigint;
  bits: number;
}

const anchors = {
  standard: (bits: number): Anchor => ({ anchorHeight: 1n, anchorParentTime: 0n, anchorBits: bits }),
  run09: { anchorHeight: 2147483642n, anchorParentTime: 1234567290n, anchorBits: 0x1802aee8 },
  run10: { anchorHeight: 9223372036854775802n, anchorParentTime: 2147483047n, anchorBits: 0x1802aee8 },
  run12: { anchorHeight: 1n, anchorParentTime: 10000n, anchorBits: 0x1802aee8 },
};

function expectRow(anchor: Anchor, row: Row): void {
  const bits = nextTargetAsert({ ...anchor, ...BCH, tipHeight: row.height, tipTime: row.time });
  expect(hex(bits)).toBe(hex(row.bits));
}

function hex(bits: number): string {
  return `0x${bits.toString(16).padStart(8, "0")}`;
}

// Rows copied from the published vectors (test/fixtures/vectors/asert-aserti3-2d), each named for
// the behaviour it pins; the full runs are checked at the end of this file.
const embedded: { run: string; what: string; anchor: Anchor; row: Row }[] = [
  {
    run: "run01",
    what: "steady 600 s blocks keep the pow limit",
    anchor: anchors.standard(0x1d00ffff),
    row: { height: 11n, time: 6600n, bits: 0x1d00ffff },
  },
  {
    run: "run02",
    what: "steady blocks keep an arbitrary target",
    anchor: anchors.standard(0x1a2b3c4d),
    row: { height: 2n, time: 1200n, bits: 0x1a2b3c4d },
  },
  {
    run: "run03",
    what: "steady blocks keep the minimum target 1",
    anchor: anchors.standard(0x01010000),
    row: { height: 6n, time: 3600n, bits: 0x01010000 },
  },
  {
    run: "run04",
    what: "one half-life late doubles the target",
    anchor: anchors.standard(0x01010000),
    row: { height: 2n, time: 174000n, bits: 0x01020000 },
  },
  {
    run: "run04",
    what: "doubling stops at the pow limit",
    anchor: anchors.standard(0x01010000),
    row: { height: 225n, time: 38842200n, bits: 0x1d00ffff },
  },
  {
    run: "run05",
    what: "288 blocks in no time halve the target (and a bit)",
    anchor: anchors.standard(0x1d00ffff),
    row: { height: 290n, time: 0n, bits: 0x1c7f62c0 },
  },
  {
    run: "run05",
    what: "halving stops at target 1",
    anchor: anchors.standard(0x1d00ffff),
    row: { height: 64514n, time: 0n, bits: 0x01010000 },
  },
  {
    run: "run06",
    what: "random solvetimes, stable hashrate, last row",
    anchor: anchors.standard(0x1802aee8),
    row: { height: 1001n, time: 589738n, bits: 0x180291ad },
  },
  {
    run: "run07",
    what: "up-ramping hashrate, last row",
    anchor: anchors.standard(0x1802aee8),
    row: { height: 1001n, time: 33365n, bits: 0x17469789 },
  },
  {
    run: "run08",
    what: "down-ramping hashrate reaches the pow limit",
    anchor: anchors.standard(0x1802aee8),
    row: { height: 501n, time: 7462933n, bits: 0x1d00ffff },
  },
  {
    run: "run09",
    what: "first height above int32 max",
    anchor: anchors.run09,
    row: { height: 2147483643n, time: 1234568190n, bits: 0x1802ae16 },
  },
  {
    run: "run09",
    what: "last row across int32 max height",
    anchor: anchors.run09,
    row: { height: 2147483652n, time: 1234570890n, bits: 0x1802a6b7 },
  },
  {
    run: "run10",
    what: "height near int64 max, time above int32 max",
    anchor: anchors.run10,
    row: { height: 9223372036854775803n, time: 2147484547n, bits: 0x1802afbb },
  },
  {
    run: "run10",
    what: "height above int64 max",
    anchor: anchors.run10,
    row: { height: 9223372036854775812n, time: 2147492647n, bits: 0x1802b73d },
  },
  {
    run: "run11",
    what: "a tip earlier than its parent (negative solvetime)",
    anchor: anchors.standard(0x1802aee8),
    row: { height: 4n, time: 1398n, bits: 0x1802ac28 },
  },
  {
    run: "run11",
    what: "random solvetimes with negative ones, last row",
    anchor: anchors.standard(0x1802aee8),
    row: { height: 1001n, time: 293713n, bits: 0x1800c896 },
  },
  {
    run: "run12",
    what: "each block 1 s before the previous one, first step",
    anchor: anchors.run12,
    row: { height: 3n, time: 11199n, bits: 0x1802ad44 },
  },
  {
    run: "run12",
    what: "each block 1 s before the previous one, after 10000 blocks",
    anchor: anchors.run12,
    row: { height: 10001n, time: 1201n, bits: 0x13643f64 },
  },
];

describe("nextTargetAsert known answers (embedded vector rows)", () => {
  it.each(embedded)("$run: $what", ({ anchor, row }) => expectRow(anchor, row));

  it("accepts safe-integer numbers as well as bigints", () => {
    expect(
      nextTargetAsert({
        ...BCH,
        anchorHeight: 1,
        anchorParentTime: 0,
        anchorBits: 0x1802aee8,
        tipHeight: 4,
        tipTime: 1398,
      }),
    ).toBe(0x1802ac28);
  });
});

describe("nextTargetAsert rules", () => {
  const base: AsertInput = {
    ...BCH,
    anchorHeight: 1,
    anchorParentTime: 0,
    anchorBits: 0x1802aee8,
    tipHeight: 1,
    tipTime: 600,
  };
  const anchorTarget = compactToTarget(0x1802aee8).target;

  it("keeps the anchor bits for a tip exactly on schedule", () => {
    for (const h of [1, 2, 100, 100000]) {
      expect(nextTargetAsert({ ...base, tipHeight: h, tipTime: 600 * h })).toBe(0x1802aee8);
    }
  });

  it("doubles the target exactly for each half-life behind schedule (cubic is exact at 0 and 1)", () => {
    expect(nextTargetAsert({ ...base, tipTime: 600 + 172800 })).toBe(targetToCompact(anchorTarget * 2n));
    expect(nextTargetAsert({ ...base, tipTime: 600 + 3 * 172800 })).toBe(targetToCompact(anchorTarget * 8n));
    expect(nextTargetAsert({ ...base, tipTime: 600 - 172800 })).toBe(targetToCompact(anchorTarget / 2n));
  });

  it("uses truncating division for the exponent: 1 s ahead of schedule changes nothing", () => {
    // (-1 * 65536) / 172800 truncates to 0; floor division would give -1 and a smaller target.
    expect(nextTargetAsert({ ...base, tipTime: 599 })).toBe(0x1802aee8);
  });

  it("uses an arithmetic (flooring) shift for a negative exponent: 3 s ahead lowers the target", () => {
    // exponent = trunc(-3 * 65536 / 172800) = -1 -> shifts = -1, frac = 65535, factor = 131071,
    // so next = target * 131071 >> 17, just below the anchor target.
    const bits = nextTargetAsert({ ...base, tipTime: 597 });
    expect(bits).toBe(targetToCompact((anchorTarget * 131071n) >> 17n));
    expect(bits).not.toBe(0x1802aee8);
  });

  it("clamps to the pow limit when far behind schedule, even years ahead in time", () => {
    expect(nextTargetAsert({ ...base, tipTime: 600 + 100 * 172800 })).toBe(0x1d00ffff);
    expect(nextTargetAsert({ ...base, tipTime: 2n ** 62n })).toBe(0x1d00ffff);
  });

  it("clamps to target 1 (0x01010000) when far ahead of schedule", () => {
    expect(nextTargetAsert({ ...base, tipTime: -(2n ** 62n) })).toBe(0x01010000);
    expect(nextTargetAsert({ ...base, tipHeight: 10n ** 12n, tipTime: 600 })).toBe(0x01010000);
  });

  it("works with a pow limit above 2^224 (regtest 0x207fffff), which BCHN's C++ cannot take", () => {
    const regtest = {
      ...base,
      anchorBits: 0x207fffff,
      powLimit: compactToTarget(0x207fffff).target,
      targetSpacing: 1,
      halfLife: 3600,
    };
    expect(nextTargetAsert({ ...regtest, tipHeight: 10, tipTime: 10 })).toBe(0x207fffff);
    expect(nextTargetAsert({ ...regtest, tipHeight: 10, tipTime: 10 + 3600 })).toBe(0x207fffff);
    // one half-life ahead: exponent is exactly -1, so the target halves
    expect(nextTargetAsert({ ...regtest, tipHeight: 10, tipTime: 10 - 3600 })).toBe(
      targetToCompact(regtest.powLimit >> 1n),
    );
  });

  it("always returns a valid target in [1, powLimit], monotone in the tip time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x03008000, max: 0x1d00ffff }).filter((b) => {
          const t = compactToTarget(b);
          return !t.negative && t.target > 0n && t.target <= BCH.powLimit;
        }),
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }),
        fc.bigInt({ min: 0n, max: 1n << 20n }),
        (anchorBits, heightDelta, time, later) => {
          const input = {
            ...BCH,
            anchorHeight: 1n,
            anchorParentTime: 0n,
            anchorBits,
            tipHeight: 1n + heightDelta,
          };
          const a = compactToTarget(nextTargetAsert({ ...input, tipTime: time }));
          const b = compactToTarget(nextTargetAsert({ ...input, tipTime: time + later }));
          for (const r of [a, b]) {
            expect(r.negative || r.overflow).toBe(false);
            expect(r.target >= 1n && r.target <= BCH.powLimit).toBe(true);
          }
          expect(b.target >= a.target).toBe(true);
        },
      ),
    );
  });

  it.each([
    { why: "tip below the anchor", input: { tipHeight: 0 } },
    { why: "anchor height 0", input: { anchorHeight: 0, tipHeight: 0 } },
    { why: "anchor bits above the pow limit", input: { anchorBits: 0x1d010000 } },
    { why: "anchor bits of zero", input: { anchorBits: 0x01003456 } },
    { why: "negative anchor bits", input: { anchorBits: 0x04923456 } },
    { why: "a height beyond 2^53 given as a number", input: { tipHeight: 2 ** 60 } },
    { why: "a fractional time", input: { tipTime: 600.5 } },
    { why: "zero half-life", input: { halfLife: 0 } },
    { why: "negative spacing", input: { targetSpacing: -600 } },
  ])("rejects $why with RangeError", ({ input }) => {
    expect(() => nextTargetAsert({ ...base, ...input })).toThrow(RangeError);
  });
});

// The full published vectors (test/fixtures/vectors/asert-aserti3-2d).
const vectorDir = publishedVectors("asert-aserti3-2d");
const RUNS = Array.from({ length: 12 }, (_, i) => `run${String(i + 1).padStart(2, "0")}`);

interface VectorFile {
  anchor: Anchor;
  iterations: number;
  rows: Row[];
}

function parseVectorFile(text: string): VectorFile {
  const header = new Map<string, string>();
  const rows: Row[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("##")) {
      const m = /^##\s+([^:]+):\s*(.*)$/.exec(line);
      if (m) header.set(m[1]!.trim(), m[2]!.trim());
      continue;
    }
    if (line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 4) throw new Error(`bad row: ${line}`);
    rows.push({ height: BigInt(fields[1]!), time: BigInt(fields[2]!), bits: Number(fields[3]!) });
  }
  const get = (...keys: string[]): string => {
    for (const k of keys) {
      const v = header.get(k);
      if (v !== undefined) return v;
    }
    throw new Error(`missing header ${keys.join(" / ")}`);
  };
  return {
    anchor: {
      anchorHeight: BigInt(get("anchor height")),
      // run01-10 say "anchor ancestor time", run11-12 "anchor parent time": same value, t_ref.
      anchorParentTime: BigInt(get("anchor parent time", "anchor ancestor time")),
      anchorBits: Number(get("anchor nBits")),
    },
    iterations: Number(get("iterations")),
    rows,
  };
}

describe("nextTargetAsert matches the published aserti3-2d vectors", () => {
  it("finds all 12 runs", () => {
    expect(
      readdirSync(vectorDir)
        .filter((f) => /^run\d\d$/.test(f))
        .sort(),
    ).toEqual(RUNS);
  });

  it.each(RUNS)("%s: every row's next bits match", (run) => {
    const file = parseVectorFile(readFileSync(join(vectorDir, run), "utf8"));
    expect(file.rows.length).toBe(file.iterations);
    const mismatches: string[] = [];
    for (const row of file.rows) {
      const bits = nextTargetAsert({ ...file.anchor, ...BCH, tipHeight: row.height, tipTime: row.time });
      if (bits !== row.bits)
        mismatches.push(`height ${row.height} time ${row.time}: ${hex(bits)} != ${hex(row.bits)}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});
