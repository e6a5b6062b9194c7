import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { merkleRoot } from "../../../src/consensus/merkle.js";
import { concatBytes, fromHex, toHex } from "../../../src/primitives/bytes.js";
import { sha256 } from "../../../src/primitives/hash.js";

// RFC 6962 known-answer inputs and tree heads, as published with Certificate Transparency's
// merkle_tree_test and google/trillian merkle/testonly (LeafInputs, RootHashes).
const CT_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(fromHex);

const CT_ROOTS: { size: number; root: string }[] = [
  { size: 1, root: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
  { size: 2, root: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
  { size: 3, root: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77" },
  { size: 4, root: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
  { size: 5, root: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4" },
  { size: 6, root: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef" },
  { size: 7, root: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c" },
  { size: 8, root: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" },
];

/** RFC 6962 §2.1 written as the recursive definition, to check the iterative implementation. */
function referenceMth(data: readonly Uint8Array[]): Uint8Array {
  if (data.length === 0) return sha256();
  if (data.length === 1) return sha256(new Uint8Array([0]), data[0]!);
  let k = 1;
  while (k * 2 < data.length) k *= 2;
  return sha256(new Uint8Array([1]), referenceMth(data.slice(0, k)), referenceMth(data.slice(k)));
}

function txIds(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(new Uint8Array([i & 0xff, i >> 8])));
}

describe("merkleRoot (RFC 6962 Merkle Tree Hash)", () => {
  it("MTH of the empty list is SHA-256 of the empty string", () => {
    expect(toHex(merkleRoot([]))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("MTH of one leaf is SHA-256(0x00 || leaf)", () => {
    const id = sha256(new Uint8Array([42]));
    expect(merkleRoot([id])).toEqual(sha256(concatBytes(new Uint8Array([0]), id)));
  });

  it.each(CT_ROOTS)("Certificate Transparency vector: tree of size $size", ({ size, root }) => {
    expect(toHex(merkleRoot(CT_LEAVES.slice(0, size)))).toBe(root);
  });

  it("matches the recursive definition (split at the largest power of two < n) for n = 0..70", () => {
    for (let n = 0; n <= 70; n++) {
      const ids = txIds(n);
      expect(toHex(merkleRoot(ids)), `n = ${n}`).toBe(toHex(referenceMth(ids)));
    }
  });

  it("order matters: swapping two leaves changes the root", () => {
    const ids = txIds(5);
    const swapped = [ids[1]!, ids[0]!, ...ids.slice(2)];
    expect(merkleRoot(swapped)).not.toEqual(merkleRoot(ids));
  });

  // CVE-2012-2459: Bitcoin pairs an odd last node with itself, so [a,b,c] and [a,b,c,c] share a root.
  it.each([1, 3, 5, 7, 10, 11])(
    "duplicating the last of %i leaves changes the root (no CVE-2012-2459)",
    (n) => {
      const ids = txIds(n);
      expect(merkleRoot([...ids, ids[n - 1]!])).not.toEqual(merkleRoot(ids));
    },
  );

  it("does not modify its input", () => {
    const ids = txIds(7);
    const copy = ids.map((id) => id.slice());
    merkleRoot(ids);
    expect(ids).toEqual(copy);
  });

  it("rejects a non-array or a non-byte leaf with TypeError", () => {
    expect(() => merkleRoot("x" as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => merkleRoot([new Uint8Array(32), "x" as unknown as Uint8Array])).toThrow(TypeError);
  });

  it("property: changing any one leaf changes the root", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (ids, at, replacement) => {
          const index = at % ids.length;
          fc.pre(toHex(replacement) !== toHex(ids[index]!));
          const changed = ids.slice();
          changed[index] = replacement;
          expect(merkleRoot(changed)).not.toEqual(merkleRoot(ids));
        },
      ),
      { numRuns: 300 },
    );
  });
});
