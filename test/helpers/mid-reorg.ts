import type { Chain } from "../../src/chain/index.js";
import { type Block, blockEnvelope, blockHash, toHex } from "../../src/primitives/index.js";
import { ChainBuilder, testKey } from "./chain-builder.js";
import type { FillingStore } from "./filling-store.js";
import { waitFor } from "./wait.js";

export const hashOf = (block: Block): string => toHex(blockHash(block));

/** A chain held half-way through a reorg; `finish` lets the rest of its writes through. */
export interface HeldReorg {
  /** m1, m2, m3: the branch the reorg leaves */
  main: Block[];
  /** s2, s3, s4 (forking after m1): the branch it lands on */
  side: Block[];
  finish(): Promise<void>;
}

/**
 * On a fresh chain over `store`: main chain genesis-m1-m2-m3, and a heavier side branch
 * m1-s2-s3-s4 whose last block starts a reorg. The store's writes are let through one at a time
 * until the reorg has disconnected m3 and waits on its next write: the main chain then ends at m2,
 * below both tips, until `finish`.
 */
export async function holdReorgHalfway(store: FillingStore, chain: Chain): Promise<HeldReorg> {
  const builder = ChainBuilder.create();
  const main = await builder.mineMany(3);
  const fork = builder.fork(1);
  const side: Block[] = [];
  for (let i = 0; i < 3; i++) side.push(await fork.mine({ miner: testKey(9).address }));
  for (const block of main) await chain.processBlock(blockEnvelope(block));
  for (const block of side.slice(0, 2)) await chain.processBlock(blockEnvelope(block));
  if (chain.tip.hashHex !== hashOf(main[2]!)) throw new Error("m3 should be the tip before the reorg");

  const holdNextWrite = (): (() => void) => {
    let release = () => {};
    store.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return release;
  };
  let release = holdNextWrite();
  const reorg = chain.processBlock(blockEnvelope(side[2]!));
  let writes = store.started + 1;
  await waitFor(() => store.started === writes, 5_000, "the reorg's first write");
  while (chain.height === 3) {
    const next = holdNextWrite();
    release();
    release = next;
    writes++;
    await waitFor(() => store.started === writes, 5_000, `write ${writes} of the reorg`);
  }
  if (chain.tip.hashHex !== hashOf(main[1]!)) throw new Error("the reorg should be held with m2 the tip");
  return {
    main,
    side,
    finish: async () => {
      store.gate = undefined;
      release();
      await reorg;
      if (chain.tip.hashHex !== hashOf(side[2]!)) throw new Error("the reorg should have landed on s4");
    },
  };
}
