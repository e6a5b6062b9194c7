/**
 * Network parameters. Each network has its own id (inside every transaction: replay protection),
 * address prefix, genesis, gossip topics and DHT protocol, so nodes of different networks never mix.
 *
 * | network | spacing | ASERT half-life | pow limit (bits) | halving every | future limit |
 * |---------|---------|-----------------|------------------|---------------|--------------|
 * | regtest | 1 s     | 60 s            | 0x207fffff       | 150 blocks    | 2 h          |
 * | devnet  | 5 s     | 120 s           | 0x1f00ffff       | 210,000       | 2 h          |
 * | testnet | 60 s    | 7,200 s         | 0x1e00ffff       | 210,000       | 2 h          |
 *
 * regtest's pow limit lets about every second nonce win, so a test that stamps blocks exactly one
 * spacing apart keeps difficulty at the limit and mines instantly, while a live miner running
 * faster than one block per second drives ASERT up within a few half-lives. ASERT is active on
 * every network; none special-cases difficulty.
 *
 * ASERT anchor: block 1, the first mined block (genesis times are fixed long before a network is
 * started, and an anchor in the past would pin difficulty at the limit until the chain caught up
 * with a schedule running since genesis). Genesis and block 1 carry the pow limit; block h ≥ 2
 * uses aserti3-2d with anchor height 1, anchor bits = pow limit and anchor parent time =
 * time(block 1) − spacing, i.e. block 1 counts as on schedule.
 *
 * Anti-DoS work thresholds (policy, not consensus; `checkBranchWork` in src/chain/new-block.ts):
 * a block is stored only if its branch could still matter. Its branch work (its chain work, or
 * more when the caller holds later headers of the same branch that prove more, e.g. a sync window
 * or a block package) must be at least tip work − `lowWorkMarginBlocks` × (work of one block at
 * the tip's target), and a block that does not extend the tip must carry at least
 * `minimumChainWork`. 144 blocks on every network: a day of Bitcoin blocks; here 144 s on regtest,
 * 12 min on devnet, 2.4 h on testnet. Stale blocks of an honest race or a short partition lie far
 * inside it; a longer partition or an offline miner's branch reaches a node through sync, whose
 * downloaded window (16 batches of 64 blocks) proves the branch's work before it is stored.
 * `minimumChainWork` is a checkpoint of the network's known work (Bitcoin Core's
 * `nMinimumChainWork`); 0 on every network until a long-lived testnet has one worth pinning.
 */

/** The one list of network names; options, the CLI and the host validate against it. */
export const NETWORK_NAMES = ["regtest", "devnet", "testnet"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];
/** The network a node or command uses when none is named. */
export const DEFAULT_NETWORK: NetworkName = "devnet";

export function isNetworkName(value: unknown): value is NetworkName {
  return (NETWORK_NAMES as readonly unknown[]).includes(value);
}

export interface GenesisParams {
  time: number;
  bits: number;
  nonce: bigint;
}

export interface NetworkParams {
  readonly name: NetworkName;
  /** u32 carried by every transaction and coinbase */
  readonly networkId: number;
  readonly addressPrefix: string;
  /** compact form of the easiest allowed target */
  readonly powLimitBits: number;
  readonly targetSpacingSeconds: number;
  readonly halfLifeSeconds: number;
  /** a block's time may be at most this far past the local clock */
  readonly maxFutureBlockTimeSeconds: number;
  /** a block's time must exceed the median of this many previous blocks */
  readonly medianTimeSpan: number;
  readonly maxBlockBytes: number;
  readonly maxBlockTxs: number;
  /** coinbase subsidy at height 1, in base units (1 coin = 10^8 units) */
  readonly initialSubsidy: bigint;
  readonly halvingInterval: number;
  readonly genesis: GenesisParams;
  /** blocks' worth of work at the tip's target a branch may trail the tip by and still be stored */
  readonly lowWorkMarginBlocks: number;
  /** side-branch blocks with less chain work are not stored (a checkpoint; 0 = no floor) */
  readonly minimumChainWork: bigint;
  /** DHT protocol and gossip topic names */
  readonly dhtProtocol: string;
  readonly blockTopic: string;
  readonly txTopic: string;
}

export const COIN = 100_000_000n;
export const BLOCK_VERSION = 1;

function network(
  name: NetworkName,
  fields: Omit<NetworkParams, "name" | "dhtProtocol" | "blockTopic" | "txTopic" | "medianTimeSpan">,
): NetworkParams {
  return Object.freeze({
    name,
    medianTimeSpan: 11,
    dhtProtocol: `/quarry/${name}/kad/1.0.0`,
    blockTopic: `/quarry/${name}/blocks/1`,
    txTopic: `/quarry/${name}/txs/1`,
    ...fields,
  });
}

const common = {
  maxFutureBlockTimeSeconds: 2 * 60 * 60,
  maxBlockBytes: 1_000_000,
  maxBlockTxs: 6_000,
  initialSubsidy: 50n * COIN,
  lowWorkMarginBlocks: 144,
  minimumChainWork: 0n,
} as const;

export const REGTEST = network("regtest", {
  ...common,
  networkId: 0x51525400,
  addressPrefix: "qrt",
  powLimitBits: 0x207fffff,
  targetSpacingSeconds: 1,
  halfLifeSeconds: 60,
  halvingInterval: 150,
  genesis: { time: 1_764_000_000, bits: 0x207fffff, nonce: 0n },
});

export const DEVNET = network("devnet", {
  ...common,
  networkId: 0x51445600,
  addressPrefix: "qdv",
  powLimitBits: 0x1f00ffff,
  targetSpacingSeconds: 5,
  halfLifeSeconds: 120,
  halvingInterval: 210_000,
  genesis: { time: 1_764_000_000, bits: 0x1f00ffff, nonce: 103_271n },
});

export const TESTNET = network("testnet", {
  ...common,
  networkId: 0x51544e00,
  addressPrefix: "qtn",
  powLimitBits: 0x1e00ffff,
  targetSpacingSeconds: 60,
  halfLifeSeconds: 7_200,
  halvingInterval: 210_000,
  genesis: { time: 1_764_000_000, bits: 0x1e00ffff, nonce: 40_397_723n },
});

const NETWORKS: Readonly<Record<NetworkName, NetworkParams>> = {
  regtest: REGTEST,
  devnet: DEVNET,
  testnet: TESTNET,
};

export function getNetworkParams(name: NetworkName): NetworkParams {
  const params = NETWORKS[name];
  if (!params) throw new RangeError(`unknown network ${String(name)}`);
  return params;
}

export function blockSubsidy(height: number, params: NetworkParams): bigint {
  const halvings = Math.floor(height / params.halvingInterval);
  return halvings >= 64 ? 0n : params.initialSubsidy >> BigInt(halvings);
}
