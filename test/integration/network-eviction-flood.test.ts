import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Libp2p } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { afterAll, describe, expect, it } from "vitest";
import type { NetworkHost, NetworkHostInit } from "../../src/network/index.js";
import { connectionCeiling, evictionThreshold } from "../../src/network/peer-manager.js";
import { type Clock, systemClock } from "../../src/util/clock.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

const IDENTITIES = 200;
const WAVE = 20;
const GRACE_MS = 30_000;

/** A fresh identity on plain libp2p (no Quarry code): it only connects and stays. */
async function sybil(): Promise<Libp2p> {
  return createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/**
 * 200 fresh identities arrive in waves (each wave within the eviction grace of the one before)
 * at a node whose established inbound peers include one that delivered blocks and the oldest.
 * Before eviction protected anyone, each newcomer over the threshold evicted an established peer
 * (newcomers in their grace were not eligible), so the flood displaced every one of them.
 */
describe("inbound eviction under a 200-identity flood (real libp2p on 127.0.0.1)", () => {
  const hosts: NetworkHost[] = [];
  const sybils = new Set<Libp2p>();
  afterAll(async () => {
    await Promise.allSettled([...sybils].map((s) => s.stop()));
    await stopAll(hosts);
  }, 60_000);

  const quiet: Partial<NetworkHostInit> = {
    dhtInitialQuerySelfIntervalMs: 600_000,
    peers: { minPeers: 0, maxPeers: 1 },
  };

  it("protected categories: established, delivering and oldest inbound peers stay through the flood; older flood identities make room", async () => {
    let offsetMs = 0;
    const clock: Clock = { nowMs: () => systemClock.nowMs() + offsetMs };
    const maxPeers = 6;
    const { host: target } = await startLocalHost(
      {
        dhtInitialQuerySelfIntervalMs: 600_000,
        peers: { minPeers: 0, maxPeers, evictionGraceMs: GRACE_MS, maintenanceIntervalMs: 200 },
      },
      { clock },
    );
    hosts.push(target);
    const ceiling = connectionCeiling({ maxPeers });

    // Six established inbound peers: the oldest, one that delivered blocks, four others.
    const established: NetworkHost[] = [];
    for (let i = 0; i < 6; i++) {
      const { host } = await startLocalHost(quiet);
      hosts.push(host);
      await host.libp2p.dial(multiaddr(target.multiaddrs()[0]!));
      await waitFor(() => target.connectedPeers().includes(host.peerId), 5_000, "established peer in");
      established.push(host);
    }
    const oldest = established[0]!;
    const deliverer = established[3]!;
    target.noteDelivery(deliverer.peerId, "block");
    offsetMs += 10 * GRACE_MS; // they have been connected a long time

    const evicted = new Set<string>();
    target.libp2p.addEventListener("peer:disconnect", (evt) => evicted.add(evt.detail.toString()));
    let maxConnections = 0;
    let refused = 0;
    const started = performance.now();
    for (let wave = 0; wave < IDENTITIES / WAVE; wave++) {
      await Promise.all(
        Array.from({ length: WAVE }, async () => {
          const s = await sybil();
          sybils.add(s);
          try {
            await s.dial(multiaddr(target.multiaddrs()[0]!), { signal: AbortSignal.timeout(5_000) });
          } catch {
            refused++; // at the ceiling libp2p refuses at the socket
            sybils.delete(s);
            await s.stop();
          }
        }),
      );
      maxConnections = Math.max(maxConnections, target.libp2p.getConnections().length);
      // Each wave comes a third of the grace after the one before: older waves become evictable.
      offsetMs += GRACE_MS / 3;
      // Evicted identities go away (keeps this process's memory bounded).
      for (const s of sybils) {
        if (s.getConnections().length === 0) {
          sybils.delete(s);
          await s.stop();
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const establishedEvicted = established.filter((e) => evicted.has(e.peerId)).length;
    const floodEvicted = [...evicted].filter((id) => !established.some((e) => e.peerId === id)).length;
    console.log(
      `eviction flood: ${IDENTITIES} identities in ${seconds.toFixed(1)} s; ${floodEvicted} flood identities evicted, ${refused} refused, ${establishedEvicted}/6 established evicted, max ${maxConnections} connections (ceiling ${ceiling})`,
    );

    expect(target.connectedPeers()).toContain(oldest.peerId);
    expect(target.connectedPeers()).toContain(deliverer.peerId);
    expect(evicted.has(oldest.peerId)).toBe(false);
    expect(evicted.has(deliverer.peerId)).toBe(false);
    // The other four are older than every newcomer: the long-lived half of the pool.
    expect(establishedEvicted).toBe(0);
    // The flood was real: the node was full, and older flood identities made room for newer ones.
    expect(floodEvicted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    // (libp2p checks its ceiling as a connection is accepted; upgrades in flight can pass it by one)
    expect(maxConnections).toBeLessThanOrEqual(ceiling + 1);
    // Once the flood's grace is over, upkeep trims back to the threshold with the flood's peers.
    offsetMs += GRACE_MS;
    await waitFor(
      () => target.libp2p.getConnections().length <= evictionThreshold({ maxPeers }),
      5_000,
      "trimmed to the threshold",
    );
    for (const e of established) expect(target.connectedPeers()).toContain(e.peerId);
  }, 60_000);
});
