/**
 * The peer database's key layout (a small LevelDB at `<datadir>/peers`, apart from the chain
 * store so losing it loses nothing of consensus). Keys are a one-byte prefix and a field; values
 * are UTF-8 JSON of the records in `peer-db.ts`.
 *
 *   'M' + name (utf8)         -> meta: "schema" -> u32 BE schema version
 *   'a' + peer id (utf8)      -> KnownPeer   {peerId, addrs: multiaddr strings without /p2p, lastSeenMs}
 *   'b' + peer id (utf8)      -> BanRecord   {peerId, code, reason, sinceMs, untilMs}
 *   'i' + IP address (utf8)   -> AddressBanRecord {address, code, reason, sinceMs, untilMs}
 *   'l' + seq (u64 BE)        -> SecurityLogEntry {seq, timeMs, peerId, code, kind, detail?}
 *
 * Log keys sort by sequence, so trimming the oldest entries is one range delete. Nothing here
 * needs multi-key atomicity except appending log entries with their trim, done in one batch.
 */

export const PEER_DB_SCHEMA_VERSION = 1;

export const PeerPrefix = {
  meta: 0x4d, // 'M'
  knownPeer: 0x61, // 'a'
  ban: 0x62, // 'b'
  addressBan: 0x69, // 'i'
  log: 0x6c, // 'l'
} as const;

const utf8 = new TextEncoder();

function prefixed(prefix: number, body: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + body.length);
  key[0] = prefix;
  key.set(body, 1);
  return key;
}

export const peerKeys = {
  meta: (name: string) => prefixed(PeerPrefix.meta, utf8.encode(name)),
  knownPeer: (peerId: string) => prefixed(PeerPrefix.knownPeer, utf8.encode(peerId)),
  ban: (peerId: string) => prefixed(PeerPrefix.ban, utf8.encode(peerId)),
  addressBan: (address: string) => prefixed(PeerPrefix.addressBan, utf8.encode(address)),
  log: (seq: number) => {
    const key = new Uint8Array(9);
    key[0] = PeerPrefix.log;
    new DataView(key.buffer).setBigUint64(1, BigInt(seq));
    return key;
  },
};

/** Bounds for iterating every key with one prefix. */
export function peerPrefixRange(prefix: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) };
}
