export { AddressBans, canonicalIp, ipOfMultiaddr } from "./address-bans.js";
export { type BlockProcessor, blockGossipHandler } from "./chain-handlers.js";
export { NetworkError, NetworkErrorCode, type NetworkErrorType } from "./errors.js";
export type { NetworkEvents, OrphanBlockEvent, PeerEvent } from "./events.js";
export type { GossipHandler } from "./gossip.js";
export {
  createNetworkHost,
  NetworkHost,
  type NetworkHostDeps,
  type NetworkServices,
} from "./host.js";
export { PEER_DB_SCHEMA_VERSION } from "./layout.js";
export {
  type ConnectionBytes,
  ConnectionTraffic,
  type Libp2pMetricsInit,
  libp2pMetrics,
} from "./libp2p-metrics.js";
export { type NatStatus, rendezvousKey } from "./nat.js";
export {
  DEFAULT_GOSSIP_RATE_OPTIONS,
  DEFAULT_NAT_OPTIONS,
  DEFAULT_NETWORK_HOST_OPTIONS,
  DEFAULT_PEER_MANAGER_OPTIONS,
  DEFAULT_RELAY_LIMIT_OPTIONS,
  DEFAULT_REPUTATION_OPTIONS,
  DEFAULT_SECURITY_LOG_OPTIONS,
  type GossipRateOptions,
  type NatOptions,
  type NetworkHostInit,
  type NetworkHostOptions,
  type PeerManagerOptions,
  PORT_MAPPINGS,
  type PortMapping,
  REACHABILITIES,
  type Reachability,
  type RelayLimitOptions,
  type ReputationOptions,
  resolveNetworkHostOptions,
  type SecurityLogOptions,
} from "./options.js";
export {
  type BanTarget,
  type BanView,
  PeerControl,
  PeerControlError,
  PeerControlErrorCode,
  type PeerView,
} from "./peer-control.js";
export {
  LevelPeerDb,
  type LevelPeerDbOptions,
  MemoryPeerDb,
  type PeerDb,
  PeerDbError,
  PeerDbErrorCode,
} from "./peer-db.js";
export type { AddressBanRecord, BanRecord, KnownPeer, SecurityLogEntry, SecurityLogKind } from "./records.js";
export {
  OPERATOR_BAN_CODE,
  type PeerOffence,
  type PeerPenalizedEvent,
  PeerReputation,
  type PenaltyLookup,
  type ReputationDeps,
  type ReputationEvents,
} from "./reputation.js";
export { type SecurityEvent, SecurityLog, type SecurityLogDeps } from "./security-log.js";
export { installStreamRaceGuard, isClosedStreamWrite } from "./stream-race-guard.js";
export {
  type GossipKind,
  type GossipOutcome,
  type GossipVerdictInput,
  gossipVerdict,
  VerdictCounters,
} from "./verdict.js";
