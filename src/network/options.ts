import { isNetworkName, type NetworkName } from "../consensus/index.js";

/** Tunables of the peer scorer; defaults in `DEFAULT_REPUTATION_OPTIONS`. */
export interface ReputationOptions {
  /** a peer whose score reaches this is disconnected (it may come back) */
  disconnectThreshold: number;
  /** a peer whose score reaches this is banned: disconnected and refused until the ban expires */
  banThreshold: number;
  /** scores halve over this long, so rare honest mistakes are forgotten */
  halfLifeMs: number;
  banDurationMs: number;
}

export const DEFAULT_REPUTATION_OPTIONS: Readonly<ReputationOptions> = Object.freeze({
  disconnectThreshold: 50,
  banThreshold: 100,
  halfLifeMs: 10 * 60_000,
  banDurationMs: 24 * 60 * 60_000,
});

/** Tunables of the security log. */
export interface SecurityLogOptions {
  /** most entries kept (memory and disk); the oldest go first */
  maxEntries: number;
  /** most bytes of one entry's JSON `detail`; larger details are replaced by a note */
  maxDetailBytes: number;
}

export const DEFAULT_SECURITY_LOG_OPTIONS: Readonly<SecurityLogOptions> = Object.freeze({
  maxEntries: 1000,
  maxDetailBytes: 64 * 1024,
});

/** Tunables of discovery and connection upkeep. */
export interface PeerManagerOptions {
  /** below this many connections the manager dials known and discovered peers */
  minPeers: number;
  /**
   * peer slots: the manager dials up to `outboundTarget` (a third, at least `minPeers`); the
   * rest (`maxInbound`) are for peers that dial us. Over `maxInbound`, an older inbound peer is
   * evicted for a newcomer. DHT queries may connect to more peers on top.
   */
  maxPeers: number;
  /** an inbound peer is safe from eviction for this long after it connected */
  evictionGraceMs: number;
  /** how often the upkeep loop runs */
  maintenanceIntervalMs: number;
  /** first retry delay after a failed dial or a lost peer; doubles per failure */
  dialBackoffBaseMs: number;
  dialBackoffMaxMs: number;
  /** deadline of one dial */
  dialTimeoutMs: number;
  /** health-check ping period (0 = no pings) */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** consecutive failed pings after which the connection is closed */
  maxPingFailures: number;
  /** most known peers persisted */
  maxKnownPeers: number;
}

export const DEFAULT_PEER_MANAGER_OPTIONS: Readonly<PeerManagerOptions> = Object.freeze({
  minPeers: 4,
  maxPeers: 24,
  evictionGraceMs: 30_000,
  maintenanceIntervalMs: 5_000,
  dialBackoffBaseMs: 1_000,
  dialBackoffMaxMs: 5 * 60_000,
  dialTimeoutMs: 5_000,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 10_000,
  maxPingFailures: 3,
  maxKnownPeers: 500,
});

/**
 * Gossip admission limits. Blocks are never rate-limited per peer (a block with valid work pays
 * for itself, and a fresh chain legitimately makes hundreds per second): at most
 * `maxBlocksInFlight` wait for validation at once, and more are dropped (ignored, not charged).
 * Transactions: a token bucket per peer throttles them (ignored, not charged); only a peer beyond
 * `floodFactor` times that rate is charged (`NET_FLOOD`), per message. See docs/NETWORK.md.
 */
export interface GossipRateOptions {
  /** gossiped blocks being validated at once; further ones are dropped (NET_BUSY) */
  maxBlocksInFlight: number;
  /** transactions one peer may send at once before it is throttled */
  txBurst: number;
  /** transactions one peer may send per second, sustained, before it is throttled */
  txsPerSecond: number;
  /** a peer above this multiple of the tx burst and rate is abusing, and charged per message */
  floodFactor: number;
}

export const DEFAULT_GOSSIP_RATE_OPTIONS: Readonly<GossipRateOptions> = Object.freeze({
  maxBlocksInFlight: 64,
  txBurst: 500,
  txsPerSecond: 200,
  floodFactor: 10,
});

/**
 * How a node finds out whether others can dial it, and what it does about it (see nat.ts):
 * - `local`: loopback or single-host networks (tests, docker-compose) as before: DHT server,
 *   no AutoNAT, relay or hole punching; every address is advertised.
 * - `public`: the operator says the node is dialable: DHT server, relay server for others.
 * - `private`: the operator says it is not (behind NAT): DHT client, reserves a relay slot and,
 *   once it has one, advertises the relayed address and its LAN addresses only.
 * - `auto`: AutoNAT decides; until it has verified a public address the node behaves as
 *   `private`, afterwards as `public`.
 */
export type Reachability = "local" | "auto" | "public" | "private";
export const REACHABILITIES: readonly Reachability[] = ["local", "auto", "public", "private"];

/** Port mapping on the home router: none, or UPnP IGD (`@libp2p/upnp-nat`). */
export type PortMapping = "none" | "upnp";
export const PORT_MAPPINGS: readonly PortMapping[] = ["none", "upnp"];

/** What a public node's circuit relay v2 server grants each reservation (and its circuits). */
export interface RelayLimitOptions {
  /** reservations held at once; a relay with all slots taken refuses more */
  maxReservations: number;
  /** a reservation lasts this long unless renewed (the client renews before it ends) */
  reservationTtlMs: number;
  /** one relayed connection is reset after this long; the peers then reconnect */
  durationLimitMs: number;
  /** one relayed connection is reset after this many bytes (both directions) */
  dataLimitBytes: number;
}

export const DEFAULT_RELAY_LIMIT_OPTIONS: Readonly<RelayLimitOptions> = Object.freeze({
  maxReservations: 32,
  reservationTtlMs: 60 * 60_000,
  durationLimitMs: 10 * 60_000,
  // gossip of regtest/devnet blocks and transactions for ten minutes fits many times over; a
  // full 1 MB block relayed a few times does too. Bulk sync does not go through relays.
  dataLimitBytes: 16 * 1024 * 1024,
});

/** NAT traversal: reachability, relays, hole punching, port mapping. */
export interface NatOptions {
  reachability: Reachability;
  portMapping: PortMapping;
  relay: RelayLimitOptions;
  /**
   * an unreachable node keeps this many connections to other unreachable nodes (through relays,
   * direct on a shared LAN, or direct after hole punching), found through a DHT rendezvous record
   */
  relayedPeerTarget: number;
  /** how often an unreachable node re-announces itself and looks for relayed peers */
  rendezvousIntervalMs: number;
}

export const DEFAULT_NAT_OPTIONS: Readonly<Omit<NatOptions, "relay">> = Object.freeze({
  reachability: "local",
  portMapping: "none",
  relayedPeerTarget: 3,
  rendezvousIntervalMs: 30_000,
});

/** Everything `createNetworkHost` needs to know; `resolveNetworkHostOptions` fills defaults. */
export interface NetworkHostOptions {
  network: NetworkName;
  /** multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/7333 */
  listen: string[];
  /** multiaddrs to announce instead of the listen addresses (e.g. behind NAT or in Docker) */
  announce: string[];
  /** bootstrap multiaddrs, each ending in /p2p/<peer id> */
  bootstrap: string[];
  /**
   * true on loopback / single-host networks (tests, docker-compose): disables gossipsub's
   * IP-colocation penalty and libp2p's per-host inbound connection rate limit, which would
   * otherwise starve meshes whose peers all share one address
   */
  localNetwork: boolean;
  /** DHT self-query: first run after this delay, then every `dhtQuerySelfIntervalMs` */
  dhtInitialQuerySelfIntervalMs: number;
  dhtQuerySelfIntervalMs: number;
  /** largest gossip message accepted (bytes); larger ones are rejected before decoding */
  maxGossipMessageBytes: number;
  peers: PeerManagerOptions;
  reputation: ReputationOptions;
  securityLog: SecurityLogOptions;
  gossipRate: GossipRateOptions;
  nat: NatOptions;
}

/** What callers pass: the network plus any overrides. */
export type NetworkHostInit = Pick<NetworkHostOptions, "network"> &
  Partial<
    Omit<NetworkHostOptions, "network" | "peers" | "reputation" | "securityLog" | "gossipRate" | "nat">
  > & {
    peers?: Partial<PeerManagerOptions>;
    reputation?: Partial<ReputationOptions>;
    securityLog?: Partial<SecurityLogOptions>;
    gossipRate?: Partial<GossipRateOptions>;
    nat?: Partial<Omit<NatOptions, "relay">> & { relay?: Partial<RelayLimitOptions> };
  };

export const DEFAULT_NETWORK_HOST_OPTIONS = Object.freeze({
  listen: ["/ip4/0.0.0.0/tcp/7333"],
  announce: [] as string[],
  bootstrap: [] as string[],
  localNetwork: false,
  dhtInitialQuerySelfIntervalMs: 200,
  dhtQuerySelfIntervalMs: 60_000,
  // a block is at most 1,000,000 bytes by consensus; the codec ceiling is 4 MiB
  maxGossipMessageBytes: 1_100_000,
});

function checkPositive(group: string, values: object): void {
  for (const [key, value] of Object.entries(values)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${group} option ${key} must be a non-negative number`);
    }
  }
}

export function resolveReputationOptions(opts: Partial<ReputationOptions> = {}): ReputationOptions {
  const merged = { ...DEFAULT_REPUTATION_OPTIONS, ...opts };
  checkPositive("reputation", merged);
  if (merged.disconnectThreshold > merged.banThreshold)
    throw new RangeError("reputation disconnectThreshold must not exceed banThreshold");
  if (merged.halfLifeMs <= 0) throw new RangeError("reputation halfLifeMs must be positive");
  return merged;
}

export function resolveSecurityLogOptions(opts: Partial<SecurityLogOptions> = {}): SecurityLogOptions {
  const merged = { ...DEFAULT_SECURITY_LOG_OPTIONS, ...opts };
  checkPositive("securityLog", merged);
  if (!Number.isInteger(merged.maxEntries) || merged.maxEntries < 1)
    throw new RangeError("securityLog maxEntries must be a positive integer");
  return merged;
}

export function resolvePeerManagerOptions(opts: Partial<PeerManagerOptions> = {}): PeerManagerOptions {
  const merged = { ...DEFAULT_PEER_MANAGER_OPTIONS, ...opts };
  checkPositive("peers", merged);
  if (merged.minPeers > merged.maxPeers) throw new RangeError("peers minPeers must not exceed maxPeers");
  if (merged.maintenanceIntervalMs <= 0) throw new RangeError("peers maintenanceIntervalMs must be positive");
  return merged;
}

export function resolveNetworkHostOptions(init: NetworkHostInit): NetworkHostOptions {
  if (!isNetworkName(init.network)) throw new RangeError(`unknown network ${String(init.network)}`);
  const { peers, reputation, securityLog, gossipRate, nat, ...given } = init;
  // an option passed as undefined keeps its default
  const rest = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as typeof given;
  const gossip = { ...DEFAULT_GOSSIP_RATE_OPTIONS, ...gossipRate };
  checkPositive("gossipRate", gossip);
  if (!Number.isInteger(gossip.maxBlocksInFlight) || gossip.maxBlocksInFlight < 1)
    throw new RangeError("gossipRate maxBlocksInFlight must be a positive integer");
  if (gossip.txBurst < 1 || gossip.floodFactor < 1)
    throw new RangeError("gossipRate txBurst and floodFactor must be at least 1");
  return {
    ...DEFAULT_NETWORK_HOST_OPTIONS,
    ...rest,
    peers: resolvePeerManagerOptions(peers),
    reputation: resolveReputationOptions(reputation),
    securityLog: resolveSecurityLogOptions(securityLog),
    gossipRate: gossip,
    nat: resolveNatOptions(nat),
  };
}

export function resolveNatOptions(
  opts: Partial<Omit<NatOptions, "relay">> & { relay?: Partial<RelayLimitOptions> } = {},
): NatOptions {
  const { relay, ...rest } = opts;
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_NAT_OPTIONS, ...given, relay: { ...DEFAULT_RELAY_LIMIT_OPTIONS, ...relay } };
  if (!REACHABILITIES.includes(merged.reachability))
    throw new RangeError(`nat reachability must be one of ${REACHABILITIES.join(", ")}`);
  if (!PORT_MAPPINGS.includes(merged.portMapping))
    throw new RangeError(`nat portMapping must be one of ${PORT_MAPPINGS.join(", ")}`);
  checkPositive("nat", { relayedPeerTarget: merged.relayedPeerTarget });
  checkPositive("nat.relay", merged.relay);
  if (merged.rendezvousIntervalMs <= 0) throw new RangeError("nat rendezvousIntervalMs must be positive");
  return merged;
}
