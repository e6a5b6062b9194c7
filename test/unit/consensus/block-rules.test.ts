import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type Account, EMPTY_ACCOUNT } from "../../../src/consensus/account.js";
import { checkBlockBody, checkHeader, type HeaderContext } from "../../../src/consensus/block-rules.js";
import { expectedBits, medianTimePast } from "../../../src/consensus/difficulty.js";
import { BlockError, BlockErrorCode, TxErrorCode } from "../../../src/consensus/errors.js";
import { genesisBlock } from "../../../src/consensus/genesis.js";
import { merkleRoot } from "../../../src/consensus/merkle.js";
import { blockSubsidy, DEVNET, getNetworkParams, REGTEST, TESTNET } from "../../../src/consensus/params.js";
import { checkProofOfWork, compactToTarget, hashToBigInt } from "../../../src/consensus/pow.js";
import { applyBlockState } from "../../../src/consensus/state.js";
import {
  type Block,
  blockHash,
  CodecError,
  decodeBlock,
  encodeBlock,
  headerHash,
  type TransferTx,
  toHex,
  transactionId,
  U64_MAX,
} from "../../../src/primitives/index.js";
import { ChainBuilder, mineHeader, testKey, transfer } from "../../helpers/chain-builder.js";

const params = REGTEST;
const alice = testKey(1);
const bob = testKey(2);

/** Header context of the block at `height` on the builder's chain. */
function contextFor(builder: ChainBuilder, height: number, now = 2_000_000_000): HeaderContext {
  const parent = builder.block(height - 1);
  const times = builder.blocks.slice(Math.max(0, height - 11), height).map((b) => b.header.time);
  return {
    parentHash: blockHash(parent),
    medianTimePast: medianTimePast(times),
    expectedBits: expectedBits(
      height,
      { height: height - 1, time: parent.header.time },
      height === 1 ? undefined : builder.block(1).header.time,
      params,
    ),
    nowSeconds: now,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof BlockError)
      return err.type.code === BlockErrorCode.BAD_TX ? err.type.txCode : err.type.code;
    throw err;
  }
  return undefined;
}

/** Re-mines a modified header so only the rule under test can fail. */
function remine(block: Block): Block {
  return { ...block, header: mineHeader(block.header) };
}

function withMerkle(block: Block): Block {
  return { ...block, header: { ...block.header, merkleRoot: merkleRoot(block.txs.map(transactionId)) } };
}

let builder: ChainBuilder;
let funded: Block; // height 2: alice has the block-1 coinbase, pays bob in block 2

beforeAll(async () => {
  builder = ChainBuilder.create(params);
  await builder.mine({ miner: alice.address });
  funded = await builder.mine({ txs: [transfer(alice, bob.address, 1000n, 0n)] });
});

function preState(): Map<string, Account> {
  return new Map([[toHex(alice.address), { balance: blockSubsidy(1, params), nonce: 0n }]]);
}

describe("genesis", () => {
  it.each([REGTEST, DEVNET, TESTNET])("$name genesis is deterministic and meets its pow limit", (p) => {
    const genesis = genesisBlock(p);
    expect(toHex(blockHash(genesis))).toBe(toHex(blockHash(genesisBlock(getNetworkParams(p.name)))));
    expect(() =>
      checkProofOfWork(
        headerHash(genesis.header),
        genesis.header.bits,
        compactToTarget(p.powLimitBits).target,
      ),
    ).not.toThrow();
    expect(genesis.header.stateRoot).toEqual(new Uint8Array(32));
  });

  it("networks have distinct genesis blocks, ids and address prefixes", () => {
    const all = [REGTEST, DEVNET, TESTNET];
    expect(new Set(all.map((p) => toHex(blockHash(genesisBlock(p))))).size).toBe(3);
    expect(new Set(all.map((p) => p.networkId)).size).toBe(3);
    expect(new Set(all.map((p) => p.addressPrefix)).size).toBe(3);
  });
});

describe("header rules", () => {
  it("a valid header passes", () => {
    expect(
      codeOf(() => checkHeader(funded.header, blockHash(funded), contextFor(builder, 2), params)),
    ).toBeUndefined();
  });

  it.each([
    [BlockErrorCode.BAD_VERSION, (b: Block) => remine({ ...b, header: { ...b.header, version: 2 } })],
    [
      BlockErrorCode.BAD_PREV,
      (b: Block) => remine({ ...b, header: { ...b.header, prevHash: new Uint8Array(32) } }),
    ],
    [
      BlockErrorCode.BAD_DIFFICULTY,
      (b: Block) => remine({ ...b, header: { ...b.header, bits: 0x1f00ffff } }),
    ],
    [
      BlockErrorCode.TIME_TOO_OLD,
      (b: Block) => remine({ ...b, header: { ...b.header, time: builder.block(1).header.time - 1 } }),
    ],
    [
      BlockErrorCode.TIME_TOO_NEW,
      (b: Block) => remine({ ...b, header: { ...b.header, time: 2_000_000_000 + 7201 } }),
    ],
  ])("%s", (code, mutate) => {
    const bad = mutate(funded);
    expect(codeOf(() => checkHeader(bad.header, blockHash(bad), contextFor(builder, 2), params))).toBe(code);
  });

  it("BLOCK_HIGH_HASH: a header whose hash is above the target", () => {
    const target = compactToTarget(funded.header.bits).target;
    let header = funded.header;
    for (let nonce = 0n; hashToBigInt(headerHash(header)) <= target; nonce++)
      header = { ...funded.header, nonce };
    expect(codeOf(() => checkHeader(header, headerHash(header), contextFor(builder, 2), params))).toBe(
      BlockErrorCode.HIGH_HASH,
    );
  });

  it("BLOCK_TIME_TOO_NEW is 'ignore' (may become valid), the others 'reject'", () => {
    const late = remine({ ...funded, header: { ...funded.header, time: 2_000_000_000 + 7201 } });
    try {
      checkHeader(late.header, blockHash(late), contextFor(builder, 2), params);
      expect.unreachable();
    } catch (err) {
      expect((err as BlockError).action).toBe("ignore");
    }
  });
});

describe("body rules", () => {
  const body = (b: Block) => () => checkBlockBody(b, 2, params);

  it("a valid body passes and returns the tx ids", () => {
    expect(checkBlockBody(funded, 2, params).map(toHex)).toEqual(
      funded.txs.map((tx) => toHex(transactionId(tx))),
    );
  });

  it("BLOCK_NO_TRANSACTIONS", () => {
    expect(codeOf(body(withMerkle({ ...funded, txs: [] })))).toBe(BlockErrorCode.NO_TRANSACTIONS);
  });

  it("BLOCK_FIRST_TX_NOT_COINBASE", () => {
    expect(codeOf(body(withMerkle({ ...funded, txs: funded.txs.slice(1) })))).toBe(
      BlockErrorCode.FIRST_TX_NOT_COINBASE,
    );
  });

  it("BLOCK_MULTIPLE_COINBASE", () => {
    const second = { ...funded.txs[0]!, amount: 1n };
    expect(codeOf(body(withMerkle({ ...funded, txs: [...funded.txs, second] })))).toBe(
      BlockErrorCode.MULTIPLE_COINBASE,
    );
  });

  it("BLOCK_BAD_COINBASE_HEIGHT", () => {
    expect(codeOf(() => checkBlockBody(funded, 3, params))).toBe(BlockErrorCode.BAD_COINBASE_HEIGHT);
  });

  it("BLOCK_BAD_COINBASE_NETWORK", () => {
    const coinbase = { ...funded.txs[0]!, networkId: DEVNET.networkId };
    expect(codeOf(body(withMerkle({ ...funded, txs: [coinbase, ...funded.txs.slice(1)] })))).toBe(
      BlockErrorCode.BAD_COINBASE_NETWORK,
    );
  });

  it("BLOCK_DUPLICATE_TX: the same transfer twice (CVE-2018-17144 class)", () => {
    expect(codeOf(body(withMerkle({ ...funded, txs: [...funded.txs, funded.txs[1]!] })))).toBe(
      BlockErrorCode.DUPLICATE_TX,
    );
  });

  it("BLOCK_BAD_MERKLE_ROOT", () => {
    expect(codeOf(body({ ...funded, header: { ...funded.header, merkleRoot: new Uint8Array(32) } }))).toBe(
      BlockErrorCode.BAD_MERKLE_ROOT,
    );
  });

  it("BLOCK_TOO_MANY_TXS and BLOCK_TOO_LARGE use the network's limits", () => {
    const tight = { ...params, maxBlockTxs: 1 };
    expect(codeOf(() => checkBlockBody(funded, 2, tight))).toBe(BlockErrorCode.TOO_MANY_TXS);
    const small = { ...params, maxBlockBytes: 200 };
    expect(codeOf(() => checkBlockBody(funded, 2, small))).toBe(BlockErrorCode.TOO_LARGE);
  });

  it("TX_BAD_SIGNATURE: a transfer whose signature does not verify", () => {
    const tx = funded.txs[1] as TransferTx;
    const sig = tx.signature.slice();
    sig[0]! ^= 1;
    expect(codeOf(body(withMerkle({ ...funded, txs: [funded.txs[0]!, { ...tx, signature: sig }] })))).toBe(
      TxErrorCode.BAD_SIGNATURE,
    );
  });

  it("TX_BAD_SIGNATURE: a signature by another key", () => {
    const forged = { ...transfer(bob, bob.address, 1n, 0n), senderPublicKey: alice.publicKey };
    expect(codeOf(body(withMerkle({ ...funded, txs: [funded.txs[0]!, forged] })))).toBe(
      TxErrorCode.BAD_SIGNATURE,
    );
  });

  it("TX_WRONG_NETWORK: a transfer signed for another network (replay protection)", () => {
    const replayed = transfer(alice, bob.address, 1000n, 0n, 1n, DEVNET);
    expect(codeOf(body(withMerkle({ ...funded, txs: [funded.txs[0]!, replayed] })))).toBe(
      TxErrorCode.WRONG_NETWORK,
    );
  });

  it("TX_OVERFLOW: amount + fee above u64", () => {
    const huge = transfer(alice, bob.address, U64_MAX, 0n, 1n);
    expect(codeOf(body(withMerkle({ ...funded, txs: [funded.txs[0]!, huge] })))).toBe(TxErrorCode.OVERFLOW);
  });
});

describe("state transition", () => {
  it("moves amount and fee, bumps the nonce and pays the miner subsidy + fees", () => {
    const diff = applyBlockState(funded, 2, params, preState());
    const stateOf = (k: Uint8Array) => diff.changes.get(toHex(k))?.after ?? EMPTY_ACCOUNT;
    expect(stateOf(alice.address)).toEqual({ balance: blockSubsidy(1, params) - 1001n, nonce: 1n });
    expect(stateOf(bob.address)).toEqual({ balance: 1000n, nonce: 0n });
    expect(diff.fees).toBe(1n);
  });

  it("TX_BAD_NONCE: two transfers spending the same nonce (CVE-2018-17144 class)", () => {
    const again = transfer(alice, bob.address, 5n, 0n, 2n);
    const block = withMerkle({ ...funded, txs: [...funded.txs, again] });
    expect(codeOf(() => applyBlockState(block, 2, params, preState()))).toBe(TxErrorCode.BAD_NONCE);
  });

  it("TX_INSUFFICIENT_FUNDS", () => {
    const spend = transfer(alice, bob.address, blockSubsidy(1, params), 0n, 1n);
    const block = withMerkle({ ...funded, txs: [funded.txs[0]!, spend] });
    expect(codeOf(() => applyBlockState(block, 2, params, preState()))).toBe(TxErrorCode.INSUFFICIENT_FUNDS);
  });

  it("BLOCK_BAD_COINBASE_AMOUNT: coinbase above subsidy + fees", () => {
    const coinbase = { ...funded.txs[0]!, amount: blockSubsidy(2, params) + 2n };
    const block = withMerkle({ ...funded, txs: [coinbase, ...funded.txs.slice(1)] });
    expect(codeOf(() => applyBlockState(block, 2, params, preState()))).toBe(
      BlockErrorCode.BAD_COINBASE_AMOUNT,
    );
  });

  it("a self-transfer only costs the fee", () => {
    const self = transfer(alice, alice.address, 10n, 0n, 3n);
    const block = withMerkle({ ...funded, txs: [funded.txs[0]!, self] });
    const diff = applyBlockState(block, 2, params, preState());
    expect(diff.changes.get(toHex(alice.address))?.after).toEqual({
      balance: blockSubsidy(1, params) - 3n,
      nonce: 1n,
    });
  });

  it("subsidy halves every halvingInterval blocks and ends after 64 halvings", () => {
    expect(blockSubsidy(149, params)).toBe(params.initialSubsidy);
    expect(blockSubsidy(150, params)).toBe(params.initialSubsidy / 2n);
    expect(blockSubsidy(300, params)).toBe(params.initialSubsidy / 4n);
    expect(blockSubsidy(150 * 64, params)).toBe(0n);
  });
});

describe("mutation property", () => {
  it("any single-byte change of a valid block is rejected or decodes to a different id", () => {
    const bytes = encodeBlock(funded);
    const id = toHex(blockHash(funded));
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const mutated = bytes.slice();
        mutated[pos] = (mutated[pos]! + delta) & 0xff;
        let block: Block;
        try {
          block = decodeBlock(mutated);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
          return;
        }
        if (toHex(blockHash(block)) !== id) return;
        // Same id, different body: the body rules or the state transition must refuse it.
        expect(() => {
          checkBlockBody(block, 2, params);
          applyBlockState(block, 2, params, preState());
        }).toThrow(BlockError);
      }),
      { numRuns: 3000 },
    );
  });
});
