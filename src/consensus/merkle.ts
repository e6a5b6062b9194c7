import { concatBytes, sha256 } from "../primitives/index.js";
import { SHORT_HASH_MAX_LENGTH, sha256Node, sha256Short } from "./tree-hash.js";

/**
 * The transaction Merkle root: RFC 6962 §2.1 Merkle Tree Hash (MTH) over transaction ids.
 *
 *   MTH({})      = SHA-256("")
 *   MTH({d0})    = SHA-256(0x00 || d0)
 *   MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])),  k = largest power of two < n
 *
 * Computed bottom-up, one level at a time, in place: pairs are hashed left to right and an odd
 * last node is carried up unchanged (never paired with itself). Because the left part of every
 * RFC 6962 split is a complete tree of 2^j leaves, this pairing yields exactly the recursive
 * definition's tree. Carrying instead of duplicating is what keeps Bitcoin's CVE-2012-2459
 * (two transaction lists with one root) out: [a, b, c] and [a, b, c, c] have different roots.
 */

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = 0x01;
const HASH_LENGTH = 32;

/** RFC 6962 Merkle Tree Hash of `leaves` (the leaf data, e.g. transaction ids), in order. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(leaves)) throw new TypeError("leaves must be an array of Uint8Array");
  const n = leaves.length;
  if (n === 0) return sha256();
  const level: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i];
    if (!(leaf instanceof Uint8Array)) throw new TypeError(`leaf ${i} must be a Uint8Array`);
    // Transaction ids (32 bytes) fit one block: the JS hasher, without crypto.hash's call overhead.
    const prefixed = concatBytes(LEAF_PREFIX, leaf);
    level[i] = prefixed.length <= SHORT_HASH_MAX_LENGTH ? sha256Short(prefixed) : sha256(prefixed);
  }
  // One scratch buffer for every interior node: prefix | left | right.
  const scratch = new Uint8Array(1 + 2 * HASH_LENGTH);
  scratch[0] = NODE_PREFIX;
  let width = n;
  while (width > 1) {
    let out = 0;
    for (let i = 0; i + 1 < width; i += 2) {
      scratch.set(level[i]!, 1);
      scratch.set(level[i + 1]!, 1 + HASH_LENGTH);
      const hash = new Uint8Array(HASH_LENGTH);
      sha256Node(scratch, 0, hash, 0);
      level[out++] = hash;
    }
    // RFC 6962: an odd node is promoted as is, not hashed with a copy of itself.
    if (width % 2 === 1) level[out++] = level[width - 1]!;
    width = out;
  }
  return level[0]!;
}
