import { REGTEST } from "../src/consensus/params.js";
import type { Block, TransferTx } from "../src/primitives/index.js";
import { ChainBuilder, type TestKey, testKey, transfer } from "../test/helpers/chain-builder.js";

/**
 * A regtest chain whose first `senders` blocks pay one key each (`funding`), then `blocks` blocks
 * of `txsPerBlock` transfers round-robin over the senders to 5000 recipients (`loaded`): the
 * shape bench/chain.bench.ts imports.
 */
export async function loadedChain(
  senders: number,
  blocks: number,
  txsPerBlock: number,
): Promise<{ funding: Block[]; loaded: Block[] }> {
  const builder = ChainBuilder.create(REGTEST);
  const keys: TestKey[] = Array.from({ length: senders }, (_, i) => testKey(i + 1));
  for (const key of keys) await builder.mine({ miner: key.address });
  const nonces = keys.map(() => 0n);
  for (let b = 0; b < blocks; b++) {
    const txs: TransferTx[] = [];
    for (let t = 0; t < txsPerBlock; t++) {
      const s = (b * txsPerBlock + t) % senders;
      const recipient = testKey(10_000 + ((b * 7919 + t * 104729) % 5000)).address;
      txs.push(transfer(keys[s]!, recipient, 1000n, nonces[s]!++));
    }
    await builder.mine({ txs });
  }
  const all = builder.blocks.slice(1);
  return { funding: all.slice(0, senders), loaded: all.slice(senders) };
}
