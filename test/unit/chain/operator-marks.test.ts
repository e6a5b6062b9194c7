import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Chain } from "../../../src/chain/chain.js";
import { OPERATOR_INVALIDATED } from "../../../src/chain/operator-marks.js";
import { BlockErrorCode } from "../../../src/consensus/errors.js";
import { merkleRoot } from "../../../src/consensus/merkle.js";
import { REGTEST } from "../../../src/consensus/params.js";
import { type Block, blockEnvelope, blockHash, toHex } from "../../../src/primitives/index.js";
import { type CoinbaseTx, transactionId } from "../../../src/primitives/transaction.js";
import { BlockStatus } from "../../../src/store/records.js";
import { ChainBuilder } from "../../helpers/chain-builder.js";
import { FillingStore } from "../../helpers/filling-store.js";
import { FAR_AHEAD_CLOCK } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

const hashOf = (b: Block) => toHex(blockHash(b));
let dir: ReturnType<typeof tempDir>;
let store: FillingStore;
let chain: Chain;

async function openAgain(): Promise<void> {
  chain = new Chain({ params: REGTEST }, { store, clock: FAR_AHEAD_CLOCK });
  await chain.open();
}

beforeEach(async () => {
  dir = tempDir();
  store = new FillingStore({ location: join(dir.path, "chain"), network: REGTEST.name, create: true });
  await store.open();
  await openAgain();
});

afterEach(async () => {
  await store.close();
  dir.cleanup();
});

async function feed(blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) await chain.processBlock(blockEnvelope(block));
}

describe("operator marks (invalidateBlock / reconsiderBlock)", () => {
  it("OPERATOR_INVALIDATED: the marks are on disk before the chain moves; a failure in between is finished by the next open", async () => {
    const builder = ChainBuilder.create();
    const blocks = await builder.mineMany(4);
    await feed(blocks);
    store.writesLeft = 1; // the marks' batch goes through, the first disconnect does not
    await expect(chain.invalidateBlock(hashOf(blocks[2]!))).rejects.toThrow(/ENOSPC/);
    expect(chain.height).toBe(4);
    expect(chain.getEntry(hashOf(blocks[3]!))?.status).toBe(BlockStatus.InvalidChild);

    await openAgain();
    expect(chain.tip.hashHex).toBe(hashOf(blocks[1]!));
    expect(chain.getEntry(hashOf(blocks[2]!))).toMatchObject({
      status: BlockStatus.Invalid,
      invalidCode: OPERATOR_INVALIDATED,
    });
    const { cleared, failures } = await chain.reconsiderBlock(hashOf(blocks[3]!));
    expect(cleared).toBe(2);
    expect(failures.size).toBe(0);
    expect(chain.tip.hashHex).toBe(hashOf(blocks[3]!));
  });

  it("BLOCK_BAD_STATE_ROOT: reconsidering a block that breaks a rule at connect marks it again", async () => {
    const builder = ChainBuilder.create();
    await feed(await builder.mineMany(2));
    const side = builder.fork(1);
    // Stored as a side branch (its state is checked only when it connects); the second block wins work.
    const bad = await side.mine({ mutate: (b) => (b.header.stateRoot = new Uint8Array(32).fill(7)) });
    await feed([bad]);
    await expect(feed([await side.mine({ mutate: () => undefined })])).rejects.toThrow();
    expect(chain.getEntry(hashOf(bad))?.invalidCode).toBe(BlockErrorCode.BAD_STATE_ROOT);
    expect(chain.height).toBe(2);

    const { cleared, failures } = await chain.reconsiderBlock(hashOf(bad));
    expect(cleared).toBe(2);
    expect([...failures].map(([hash, err]) => [hash, err.code])).toEqual([
      [hashOf(bad), BlockErrorCode.BAD_STATE_ROOT],
    ]);
    expect(chain.getEntry(hashOf(bad))?.status).toBe(BlockStatus.Invalid);
    expect(chain.height).toBe(2);
  });

  it("BLOCK_BAD_COINBASE_HEIGHT: a block refused on arrival (never stored) keeps its mark", async () => {
    const builder = ChainBuilder.create();
    await feed(await builder.mineMany(1));
    const refused = await builder.fork(1).mine({
      mutate: (b) => {
        b.txs[0] = { ...(b.txs[0] as CoinbaseTx), height: 9 };
        b.header.merkleRoot = merkleRoot(b.txs.map(transactionId));
      },
    });
    await expect(feed([refused])).rejects.toThrow();
    expect(chain.getEntry(hashOf(refused))?.invalidCode).toBe(BlockErrorCode.BAD_COINBASE_HEIGHT);
    const { cleared } = await chain.reconsiderBlock(hashOf(refused));
    expect(cleared).toBe(0);
    expect(chain.getEntry(hashOf(refused))?.status).toBe(BlockStatus.Invalid);
    expect(chain.height).toBe(1);
  });

  it("genesis and unknown blocks are RangeErrors", async () => {
    await expect(chain.invalidateBlock(chain.entryAtHeight(0)!.hashHex)).rejects.toThrow(RangeError);
    await expect(chain.reconsiderBlock("ab".repeat(32))).rejects.toThrow(RangeError);
  });
});
