import { sha256 } from "../primitives/index.js";
import { QuarryError } from "../util/index.js";

/**
 * State tree nodes: sizes, the 65-byte codec and the tree's typed errors (shape and encoding are
 * described in state-tree.ts).
 */

/** Byte length of keys, value hashes and node hashes. */
export const TREE_HASH_LENGTH = 32;
/** Byte length of every encoded node. */
export const TREE_NODE_SIZE = 1 + 2 * TREE_HASH_LENGTH;
/** Root (and subtree hash) of the empty tree: 32 zero bytes. */
export const EMPTY_TREE_ROOT: Uint8Array = new Uint8Array(TREE_HASH_LENGTH);

export const LEAF_TAG = 0x00;
export const INTERNAL_TAG = 0x01;
/** Offsets of a node's two 32-byte fields: key | left, then valueHash | right. */
export const FIRST_FIELD = 1;
export const SECOND_FIELD = 1 + TREE_HASH_LENGTH;

export enum StateTreeErrorCode {
  /** the store has no node for a hash the tree points to */
  MISSING_NODE = "STATE_TREE_MISSING_NODE",
  /** the store returned bytes that do not hash to the requested node hash */
  CORRUPT_NODE = "STATE_TREE_CORRUPT_NODE",
  /** bytes that are not a node encoding (wrong length, unknown tag, internal node with two empty sides) */
  MALFORMED_NODE = "STATE_TREE_MALFORMED_NODE",
}

export type StateTreeErrorType = { code: StateTreeErrorCode; nodeHash?: string };

/** A state tree failure; MISSING_NODE and CORRUPT_NODE mean the store is damaged. */
export class StateTreeError extends QuarryError<StateTreeErrorType> {}

/** A decoded tree node. */
export type TreeNode =
  | { kind: "leaf"; key: Uint8Array; valueHash: Uint8Array }
  | { kind: "internal"; left: Uint8Array; right: Uint8Array };

/** Encodes a node into its 65-byte form. Throws RangeError on wrong sizes or two empty sides. */
export function encodeTreeNode(node: TreeNode): Uint8Array {
  const out = new Uint8Array(TREE_NODE_SIZE);
  if (node.kind === "leaf") {
    assertHash(node.key, "key");
    assertHash(node.valueHash, "valueHash");
    out[0] = LEAF_TAG;
    out.set(node.key, FIRST_FIELD);
    out.set(node.valueHash, SECOND_FIELD);
  } else if (node.kind === "internal") {
    assertHash(node.left, "left");
    assertHash(node.right, "right");
    if (isEmptyAt(node.left, 0) && isEmptyAt(node.right, 0)) {
      throw new RangeError("internal node with two empty sides");
    }
    out[0] = INTERNAL_TAG;
    out.set(node.left, FIRST_FIELD);
    out.set(node.right, SECOND_FIELD);
  } else {
    throw new TypeError("unknown tree node kind");
  }
  return out;
}

/** Decodes a 65-byte node; throws StateTreeError MALFORMED_NODE on anything else (incl. trailing bytes). */
export function decodeTreeNode(bytes: Uint8Array): TreeNode {
  checkNodeEncoding(bytes);
  const first = bytes.slice(FIRST_FIELD, SECOND_FIELD);
  const second = bytes.slice(SECOND_FIELD);
  if (bytes[0] === LEAF_TAG) return { kind: "leaf", key: first, valueHash: second };
  return { kind: "internal", left: first, right: second };
}

/** Throws StateTreeError MALFORMED_NODE unless `bytes` is a valid 65-byte node encoding. */
export function checkNodeEncoding(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw malformed("node is not a byte array");
  if (bytes.length !== TREE_NODE_SIZE) {
    throw malformed(`node must be ${TREE_NODE_SIZE} bytes, got ${bytes.length}`);
  }
  if (bytes[0] === INTERNAL_TAG) {
    if (isEmptyAt(bytes, FIRST_FIELD) && isEmptyAt(bytes, SECOND_FIELD)) {
      throw malformed("internal node with two empty sides");
    }
  } else if (bytes[0] !== LEAF_TAG) {
    throw malformed(`unknown node tag ${bytes[0]}`);
  }
}

/** The node hash: SHA-256 of the encoding (leafHash / internalHash of state-tree.ts). */
export function hashTreeNode(node: TreeNode): Uint8Array {
  return sha256(encodeTreeNode(node));
}

/** Whether the 32 bytes at `offset` are all zero (an empty subtree's hash). */
export function isEmptyAt(bytes: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + TREE_HASH_LENGTH; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function assertHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== TREE_HASH_LENGTH) {
    throw new RangeError(`${name} must be ${TREE_HASH_LENGTH} bytes, got ${value.length}`);
  }
}

export function malformed(message: string): StateTreeError {
  return new StateTreeError({ code: StateTreeErrorCode.MALFORMED_NODE }, message);
}
