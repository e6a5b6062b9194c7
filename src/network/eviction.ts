import type { Multiaddr } from "@multiformats/multiaddr";

/** An inbound peer that eviction may choose, with what protects it. */
export interface EvictionCandidate {
  id: string;
  /** when its oldest open connection opened */
  connectedMs: number;
  /** its network neighbourhood (see `addressGroup`) */
  group: string;
  /** penalty points */
  score: number;
  /** last time it delivered a block we imported (0: never) */
  lastBlockMs: number;
  /** last time it delivered a transaction we admitted (0: never) */
  lastTxMs: number;
  /**
   * false for a peer that may not go now (inside its grace, or the newcomer itself): it still
   * takes its place in the protected categories, so newcomers that crowd in dilute nobody's
   * protection
   */
  evictable: boolean;
}

/** How many peers each protected category keeps (Bitcoin Core's inbound eviction uses 4 each). */
export const PROTECT_PER_CATEGORY = 4;

/**
 * Penalty points at which a peer loses its protection (a flood, an oversized frame, two
 * timeouts, …): below it is one offence an honest peer commits by accident (a timeout: 5, a stale
 * nonce: 1).
 */
export const UNPROTECTED_SCORE = 8;

/**
 * The address group of a connection's remote address: the /16 of an IPv4 address, the /32 of an
 * IPv6 one (Bitcoin Core's netgroups without its AS map). Identities are free, addresses in many
 * networks are not: an attacker's connections crowd into few groups.
 */
export function addressGroup(addr: Multiaddr): string {
  const [first] = addr.getComponents();
  if (!first?.value) return "other";
  if (first.name === "ip4") return `ip4:${first.value.split(".").slice(0, 2).join(".")}`;
  if (first.name === "ip6") {
    const hextets = first.value.split(":");
    return `ip6:${hextets.slice(0, 2).join(":")}`;
  }
  return `${first.name}:${first.value}`;
}

function takeProtected(
  pool: EvictionCandidate[],
  count: number,
  rank: (a: EvictionCandidate, b: EvictionCandidate) => number,
  eligible: (c: EvictionCandidate) => boolean = () => true,
): EvictionCandidate[] {
  const chosen = new Set(pool.filter(eligible).sort(rank).slice(0, count));
  return pool.filter((c) => !chosen.has(c));
}

/**
 * Inbound peers in the order they may be evicted; protected peers are left out (after Bitcoin
 * Core's `SelectNodeToEvict`). Peers with `UNPROTECTED_SCORE` penalty points or more are never
 * protected. Protected, in turn: the longest-lived peer of each of the
 * `PROTECT_PER_CATEGORY` oldest address groups, the peers that most recently delivered blocks,
 * then transactions (`PROTECT_PER_CATEGORY` each), then half of the rest by time connected. The
 * rest go most penalty points first, then peers of the most crowded address group, newest first.
 * Protection is worked out over every inbound peer, evictable or not: while a flood of fresh
 * identities is inside its grace, the established peers are the older half and stay protected,
 * so the flood cannot displace peers that serve us, have been with us longest, or sit in networks
 * the flood does not come from; one by one, evictions cannot wear the protected set down.
 */
export function evictionOrder(candidates: readonly EvictionCandidate[]): string[] {
  const oldestFirst = (a: EvictionCandidate, b: EvictionCandidate) => a.connectedMs - b.connectedMs;
  const offenders = candidates.filter((c) => c.score >= UNPROTECTED_SCORE);
  let pool = candidates.filter((c) => c.score < UNPROTECTED_SCORE);

  const groupElders = new Map<string, EvictionCandidate>();
  for (const c of [...pool].sort(oldestFirst)) if (!groupElders.has(c.group)) groupElders.set(c.group, c);
  const elders = new Set([...groupElders.values()].slice(0, PROTECT_PER_CATEGORY));
  pool = pool.filter((c) => !elders.has(c));

  pool = takeProtected(
    pool,
    PROTECT_PER_CATEGORY,
    (a, b) => b.lastBlockMs - a.lastBlockMs,
    (c) => c.lastBlockMs > 0,
  );
  pool = takeProtected(
    pool,
    PROTECT_PER_CATEGORY,
    (a, b) => b.lastTxMs - a.lastTxMs,
    (c) => c.lastTxMs > 0,
  );
  pool = takeProtected(pool, Math.floor(pool.length / 2), oldestFirst);

  pool.push(...offenders);
  const crowd = new Map<string, number>();
  for (const c of pool) crowd.set(c.group, (crowd.get(c.group) ?? 0) + 1);
  return pool
    .sort(
      (a, b) =>
        b.score - a.score ||
        (crowd.get(b.group) ?? 0) - (crowd.get(a.group) ?? 0) ||
        b.connectedMs - a.connectedMs,
    )
    .filter((c) => c.evictable)
    .map((c) => c.id);
}
