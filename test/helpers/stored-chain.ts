import { cpSync } from "node:fs";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { blockEnvelope, blockHash, fromHex, toHex } from "../../src/primitives/index.js";
import { keys } from "../../src/store/index.js";
import { ChainBuilder, testKey, transfer } from "./chain-builder.js";
import { openChain } from "./open-chain.js";

/** What a built store holds, to compare a repaired or restored store with. */
export interface StoredChain {
  tip: string;
  height: number;
  stateRoot: string;
  /** the side branch's block hashes (not on the main chain) */
  sideBranch: string[];
}

/**
 * A regtest datadir with a real LevelDB chain store: `blocks` main-chain blocks carrying transfers
 * (so the state tree and accounts matter) and a 5-block side branch forking 10 below the tip.
 */
export async function buildStoredChain(datadir: string, blocks: number): Promise<StoredChain> {
  const alice = testKey(1);
  const main = ChainBuilder.create();
  await main.mine({ miner: alice.address });
  for (let i = 0n; main.height < blocks - 10; i++)
    await main.mine({ txs: [transfer(alice, testKey(100 + Number(i % 50n)).address, 3n, i)] });
  const side = main.fork(main.height);
  for (let i = 0; i < 10; i++) await main.mine();
  const sideBlocks = [];
  for (let i = 0; i < 5; i++) sideBlocks.push(await side.mine({ miner: testKey(2).address }));
  const opened = await openChain(datadir, { signatureWorkers: true });
  try {
    const mainBlocks = main.blocks.slice(1).map(blockEnvelope);
    opened.chain.prefetchSignatures(mainBlocks);
    for (const block of mainBlocks) await opened.chain.processBlock(block);
    for (const block of sideBlocks) await opened.chain.processBlock(blockEnvelope(block));
    const tip = opened.chain.tip;
    return {
      tip: tip.hashHex,
      height: tip.height,
      stateRoot: Buffer.from(tip.header.stateRoot).toString("hex"),
      sideBranch: sideBlocks.map((b) => toHex(blockHash(b))),
    };
  } finally {
    await opened.close();
  }
}

/** Copies a stopped datadir (LevelDB directories are plain files once closed). */
export function copyDatadir(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** Deletes every key with one of these layout prefixes from a stopped datadir's chain store. */
export async function deleteKeyRanges(datadir: string, prefixes: readonly number[]): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(datadir, "chain"), {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    for (const p of prefixes) await db.clear({ gte: Uint8Array.of(p), lt: Uint8Array.of(p + 1) });
  } finally {
    await db.close();
  }
}

/** Overwrites one stored block body with bytes that do not decode. */
export async function garbleBlock(datadir: string, hashHex: string): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(datadir, "chain"), {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    await db.put(keys.block(fromHex(hashHex)), Uint8Array.of(1, 2, 3));
  } finally {
    await db.close();
  }
}
