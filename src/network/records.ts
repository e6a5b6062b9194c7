/** What the peer database stores (see layout.ts for the keys). */

/** A peer we have been connected to, with the addresses it listens on. */
export interface KnownPeer {
  peerId: string;
  /** multiaddr strings without the /p2p suffix */
  addrs: string[];
  lastSeenMs: number;
}

/** A banned peer: refused on dial and on inbound connections until `untilMs`. */
export interface BanRecord {
  peerId: string;
  /** the penalty code of the offence that crossed the ban threshold, or OPERATOR_BAN */
  code: string;
  reason: string;
  sinceMs: number;
  untilMs: number;
}

/** What a security log entry is about ("peer": the peer itself, e.g. it stopped answering pings). */
export type SecurityLogKind = "block" | "tx" | "batch" | "ban" | "frame" | "peer";

export interface SecurityLogEntry {
  /** increasing, unique per database */
  seq: number;
  timeMs: number;
  peerId: string;
  code: string;
  kind: SecurityLogKind;
  detail?: Record<string, unknown>;
}

/** A banned IP address (an operator's ban): connections from and dials to it are refused until `untilMs`. */
export interface AddressBanRecord {
  /** the IP address, in its canonical text form (e.g. 192.0.2.7, 2001:db8::1) */
  address: string;
  /** OPERATOR_BAN */
  code: string;
  reason: string;
  sinceMs: number;
  untilMs: number;
}
