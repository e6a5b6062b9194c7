import { multiaddr } from "@multiformats/multiaddr";
import { afterEach, describe, expect, it } from "vitest";
import type { NetworkHost, NetworkHostInit } from "../../src/network/index.js";
import { connectionCeiling, evictionThreshold } from "../../src/network/peer-manager.js";
import { type Clock, systemClock } from "../../src/util/clock.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A node whose peer slots are full still lets a newcomer in by evicting an older inbound peer,
 * and never evicts a peer it dialled. (Before: libp2p refused every inbound connection once DHT
 * queries had filled `maxPeers`, and a node returning from offline mining found no way in.)
 */
describe("inbound eviction (real libp2p on 127.0.0.1)", () => {
  const hosts: NetworkHost[] = [];
  afterEach(async () => {
    await stopAll(hosts.splice(0));
  });

  // Quiet peers: no DHT walk during the test, no dials of their own.
  const quiet: Partial<NetworkHostInit> = {
    dhtInitialQuerySelfIntervalMs: 60_000,
    peers: { minPeers: 0, maxPeers: 1 },
  };

  async function start(init: Partial<NetworkHostInit>, clock?: Clock): Promise<NetworkHost> {
    const { host } = await startLocalHost(init, clock ? { clock } : {});
    hosts.push(host);
    return host;
  }

  async function dialAndWait(from: NetworkHost, to: NetworkHost): Promise<void> {
    await from.libp2p.dial(multiaddr(to.multiaddrs()[0]!));
    await waitFor(() => to.connectedPeers().includes(from.peerId), 5_000, "connection seen by the target");
  }

  it("over the threshold a newcomer evicts the newest older inbound peer; the dialled peer stays", async () => {
    const peers = { minPeers: 0, maxPeers: 2, evictionGraceMs: 0 };
    const threshold = evictionThreshold({ maxPeers: 2 });
    expect(threshold).toBe(7);
    expect(connectionCeiling({ maxPeers: 2 })).toBe(8);
    const a = await start({ dhtInitialQuerySelfIntervalMs: 60_000, peers });

    const dialled = await start(quiet);
    await dialAndWait(a, dialled);
    const inbound: NetworkHost[] = [];
    for (let i = 0; i < threshold - 1; i++) {
      const b = await start(quiet);
      await dialAndWait(b, a);
      inbound.push(b);
    }
    expect(a.connectedPeers()).toHaveLength(threshold);

    // One more: A is over the threshold; the most recent of the older inbound peers goes.
    const newcomer = await start(quiet);
    await dialAndWait(newcomer, a);
    const newest = inbound.at(-1)!;
    await waitFor(() => !a.connectedPeers().includes(newest.peerId), 5_000, "newest older inbound evicted");
    expect(a.connectedPeers()).toContain(newcomer.peerId);
    expect(a.connectedPeers()).toContain(dialled.peerId);
    expect(a.connectedPeers()).toHaveLength(threshold);

    // A peer with penalty points goes before a newer one.
    const worst = inbound[0]!;
    a.reputation.penalize(worst.peerId, "SYNC_MALFORMED");
    const second = await start(quiet);
    await dialAndWait(second, a);
    await waitFor(() => !a.connectedPeers().includes(worst.peerId), 5_000, "lowest-scored peer evicted");
    expect(a.connectedPeers()).toEqual(
      expect.arrayContaining([second.peerId, newcomer.peerId, dialled.peerId]),
    );
    expect(a.connectedPeers()).toHaveLength(threshold);
  }, 30_000);

  it("inbound peers within the eviction grace are kept: the newcomer stays, nobody is evicted", async () => {
    const peers = { minPeers: 0, maxPeers: 2, evictionGraceMs: 600_000 };
    const a = await start({ dhtInitialQuerySelfIntervalMs: 60_000, peers });
    const inbound: NetworkHost[] = [];
    for (let i = 0; i < evictionThreshold({ maxPeers: 2 }) + 1; i++) {
      const b = await start(quiet);
      await dialAndWait(b, a);
      inbound.push(b);
    }
    // Every peer is still there, and nobody was disconnected: each connect saw only peers within
    // their grace. A ping round trip to each orders this after any hang-up the last connect began.
    let disconnects = 0;
    a.libp2p.addEventListener("peer:disconnect", () => disconnects++);
    for (const b of inbound) await b.libp2p.services.ping.ping(a.libp2p.peerId);
    expect(disconnects).toBe(0);
    expect(a.connectedPeers().sort()).toEqual(inbound.map((b) => b.peerId).sort());
  }, 30_000);

  it("at the ceiling libp2p refuses at the socket; upkeep trims older inbound peers back to the threshold", async () => {
    let offsetMs = 0;
    const clock: Clock = { nowMs: () => systemClock.nowMs() + offsetMs };
    const peers = { minPeers: 0, maxPeers: 2, evictionGraceMs: 600_000 };
    const a = await start({ dhtInitialQuerySelfIntervalMs: 60_000, peers }, clock);
    const ceiling = connectionCeiling({ maxPeers: 2 });
    for (let i = 0; i < ceiling; i++) await dialAndWait(await start(quiet), a);
    expect(a.libp2p.getConnections()).toHaveLength(ceiling);
    const late = await start(quiet);
    await expect(late.libp2p.dial(multiaddr(a.multiaddrs()[0]!))).rejects.toThrow();

    // The grace has passed for everyone: the next upkeep round closes one, leaving a free slot.
    offsetMs = 3_600_000;
    await waitFor(
      () => a.libp2p.getConnections().length === evictionThreshold({ maxPeers: 2 }),
      5_000,
      "trimmed to the threshold",
    );
    await dialAndWait(late, a);
  }, 30_000);
});
