import { type Account, decodeAccount, encodeAccount } from "../consensus/index.js";
import {
  type BlockHeader,
  ByteReader,
  ByteWriter,
  encodeHeader,
  HEADER_SIZE,
  headerHash,
  readHeader,
  toHex,
} from "../primitives/index.js";

/** How far a block got. Only `valid` and `data` blocks can be on or join the main chain. */
export enum BlockStatus {
  /** body stored and passed the stateless checks; not connected yet */
  Data = 1,
  /** connected to the state at least once (its state root was verified) */
  Valid = 2,
  /** broke a consensus rule; `invalidCode` says which */
  Invalid = 3,
  /** an ancestor is invalid */
  InvalidChild = 4,
}

export interface BlockIndexEntry {
  hash: Uint8Array;
  hashHex: string;
  header: BlockHeader;
  height: number;
  /** cumulative work from genesis through this block */
  chainWork: bigint;
  status: BlockStatus;
  invalidCode: string;
  /** arrival order: among equal work, the first seen wins */
  sequence: number;
  /** time of block 1 on this block's branch: the ASERT anchor (0 for genesis) */
  block1Time: number;
}

const WORK_BYTES = 32;

/** header 116 | height u32 | chainWork 32 | status u8 | sequence u64 | block1Time u32 | codeLen u8 | code */
export function encodeIndexEntry(e: BlockIndexEntry): Uint8Array {
  const code = new TextEncoder().encode(e.invalidCode);
  if (code.length > 255) throw new RangeError("invalid code too long");
  const work = e.chainWork.toString(16).padStart(WORK_BYTES * 2, "0");
  return new ByteWriter(HEADER_SIZE + 4 + WORK_BYTES + 1 + 8 + 4 + 1 + code.length)
    .raw(encodeHeader(e.header))
    .u32(e.height)
    .raw(Buffer.from(work, "hex"))
    .u8(e.status)
    .u64(BigInt(e.sequence))
    .u32(e.block1Time)
    .u8(code.length)
    .raw(code)
    .finish();
}

export function decodeIndexEntry(bytes: Uint8Array): BlockIndexEntry {
  const r = new ByteReader(bytes, "block index entry");
  const header = readHeader(r);
  const height = r.u32();
  const chainWork = BigInt(`0x${toHex(r.bytesN(WORK_BYTES))}`);
  const status = r.u8() as BlockStatus;
  const sequence = Number(r.u64());
  const block1Time = r.u32();
  const invalidCode = new TextDecoder().decode(r.bytesN(r.u8()));
  r.end();
  const hash = headerHash(header);
  return { hash, hashHex: toHex(hash), header, height, chainWork, status, invalidCode, sequence, block1Time };
}

/** The accounts a block touched, with their values before it: enough to disconnect it exactly. */
export interface UndoRecord {
  accounts: { address: Uint8Array; before: Account }[];
}

/** count u32 | (address 20 | account 16)* */
export function encodeUndo(undo: UndoRecord): Uint8Array {
  const w = new ByteWriter(4 + undo.accounts.length * 36);
  w.u32(undo.accounts.length);
  for (const { address, before } of undo.accounts) w.raw(address).raw(encodeAccount(before));
  return w.finish();
}

export function decodeUndo(bytes: Uint8Array): UndoRecord {
  const r = new ByteReader(bytes, "undo record");
  const n = r.count(1_000_000, "undo accounts");
  const accounts: UndoRecord["accounts"] = [];
  for (let i = 0; i < n; i++) accounts.push({ address: r.bytesN(20), before: decodeAccount(r.bytesN(16)) });
  r.end();
  return { accounts };
}
