import { type Account, EMPTY_ACCOUNT } from "../../src/consensus/account.js";
import { expectedBits } from "../../src/consensus/difficulty.js";
import { genesisBlock } from "../../src/consensus/genesis.js";
import { merkleRoot } from "../../src/consensus/merkle.js";
import { BLOCK_VERSION, blockSubsidy, type NetworkParams, REGTEST } from "../../src/consensus/params.js";
import { compactToTarget, hashToBigInt } from "../../src/consensus/pow.js";
import { applyBlockState, stateRootAfter } from "../../src/consensus/state.js";
import { MemoryTreeNodeStore } from "../../src/consensus/state-tree.js";
import {
  addressHashOf,
  type Block,
  type BlockHeader,
  blockHash,
  encodeAddress,
  headerHash,
  publicKeyFromSeed,
  signTransfer,
  type Transaction,
  type TransferTx,
  TxType,
  toHex,
  transactionId,
} from "../../src/primitives/index.js";

export interface TestKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  address: Uint8Array;
}

/** A deterministic key for tests: seed = 32 bytes of `i`. */
export function testKey(i: number): TestKey {
  const seed = new Uint8Array(32).fill(i & 0xff);
  seed[0] = (i >> 8) & 0xff;
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, address: addressHashOf(publicKey) };
}

/** The regtest address of test key `i` (bech32m, prefix from REGTEST). */
export function testAddress(i: number): string {
  return encodeAddress(REGTEST.addressPrefix, testKey(i).address);
}

export function transfer(
  from: TestKey,
  to: Uint8Array,
  amount: bigint,
  nonce: bigint,
  fee = 1n,
  params: NetworkParams = REGTEST,
): TransferTx {
  return signTransfer(
    {
      type: TxType.Transfer,
      networkId: params.networkId,
      senderPublicKey: from.publicKey,
      recipient: to,
      amount,
      fee,
      nonce,
    },
    from.seed,
  );
}

/** Finds a nonce meeting the header's target (regtest: about every second nonce). */
export function mineHeader(header: BlockHeader): BlockHeader {
  const target = compactToTarget(header.bits).target;
  for (let nonce = 0n; ; nonce++) {
    const candidate = { ...header, nonce };
    if (hashToBigInt(headerHash(candidate)) <= target) return candidate;
  }
}

interface BuiltBlock {
  block: Block;
  hashHex: string;
  accounts: Map<string, Account>;
  block1Time: number;
}

export interface MineOptions {
  txs?: TransferTx[];
  miner?: Uint8Array;
  /** default: parent time + target spacing (on schedule, so regtest difficulty stays at the limit) */
  time?: number;
  /** change the block after it is built and before the nonce search (for invalid-block tests) */
  mutate?: (block: Block) => void;
  /** coinbase amount override (default: subsidy + fees) */
  coinbaseAmount?: bigint;
}

/**
 * Builds valid chains in memory, fast: the same consensus functions the node uses, a pure nonce
 * search, and an in-memory state tree shared by all forks (nodes are content-addressed).
 */
export class ChainBuilder {
  private readonly built: BuiltBlock[];

  private constructor(
    readonly params: NetworkParams,
    private readonly tree: MemoryTreeNodeStore,
    built: BuiltBlock[],
  ) {
    this.built = built;
  }

  static create(params: NetworkParams = REGTEST): ChainBuilder {
    const genesis = genesisBlock(params);
    return new ChainBuilder(params, new MemoryTreeNodeStore(), [
      { block: genesis, hashHex: toHex(blockHash(genesis)), accounts: new Map(), block1Time: 0 },
    ]);
  }

  get height(): number {
    return this.built.length - 1;
  }

  get tip(): Block {
    return this.built[this.built.length - 1]!.block;
  }

  get blocks(): Block[] {
    return this.built.map((b) => b.block);
  }

  block(height: number): Block {
    const built = this.built[height];
    if (!built) throw new RangeError(`no block at height ${height}`);
    return built.block;
  }

  account(address: Uint8Array): Account {
    return this.built[this.built.length - 1]!.accounts.get(toHex(address)) ?? EMPTY_ACCOUNT;
  }

  /** A builder sharing this one's blocks up to `height`, to grow a competing branch. */
  fork(height: number): ChainBuilder {
    if (height > this.height) throw new RangeError("fork above the tip");
    return new ChainBuilder(this.params, this.tree, this.built.slice(0, height + 1));
  }

  async mine(opts: MineOptions = {}): Promise<Block> {
    const parent = this.built[this.built.length - 1]!;
    const height = this.built.length;
    const time = opts.time ?? parent.block.header.time + this.params.targetSpacingSeconds;
    const txs = opts.txs ?? [];
    const fees = txs.reduce((sum, tx) => sum + tx.fee, 0n);
    const coinbase: Transaction = {
      type: TxType.Coinbase,
      networkId: this.params.networkId,
      height,
      recipient: opts.miner ?? new Uint8Array(20).fill(0xaa),
      amount: opts.coinbaseAmount ?? blockSubsidy(height, this.params) + fees,
    };
    const block: Block = {
      header: {
        version: BLOCK_VERSION,
        prevHash: blockHash(parent.block),
        merkleRoot: new Uint8Array(32),
        stateRoot: parent.block.header.stateRoot,
        time,
        bits: expectedBits(
          height,
          { height: height - 1, time: parent.block.header.time },
          height === 1 ? undefined : parent.block1Time,
          this.params,
        ),
        nonce: 0n,
      },
      txs: [coinbase, ...txs],
    };
    block.header.merkleRoot = merkleRoot(block.txs.map(transactionId));
    const accounts = new Map(parent.accounts);
    try {
      const diff = applyBlockState(block, height, this.params, accounts);
      const { root, newNodes } = await stateRootAfter(
        parent.block.header.stateRoot,
        diff.changes.values(),
        this.tree,
      );
      this.tree.putNodes(newNodes);
      block.header.stateRoot = root;
      for (const [id, change] of diff.changes) accounts.set(id, change.after);
    } catch (err) {
      // An invalid block on purpose (tests): keep the parent's state; the caller mutates further.
      if (!opts.mutate) throw err;
    }
    opts.mutate?.(block);
    block.header = mineHeader(block.header);
    this.built.push({
      block,
      hashHex: toHex(blockHash(block)),
      accounts,
      block1Time: height === 1 ? time : parent.block1Time,
    });
    return block;
  }

  async mineMany(n: number, opts: Omit<MineOptions, "txs"> = {}): Promise<Block[]> {
    const out: Block[] = [];
    for (let i = 0; i < n; i++) out.push(await this.mine(opts));
    return out;
  }
}
