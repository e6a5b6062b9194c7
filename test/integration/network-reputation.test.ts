import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import type { NetworkHost } from "../../src/network/index.js";
import { SyncErrorCode } from "../../src/sync/errors.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

describe("reputation across hosts", () => {
  const hosts: NetworkHost[] = [];
  afterAll(() => stopAll(hosts));

  it("SYNC_BAD_BATCH_SIGNATURE charged by sync bans the peer: disconnected, its redials refused, logged", async () => {
    const { host: b } = await startLocalHost({ peers: { minPeers: 1, maxPeers: 10 } });
    // A keeps redialling B quickly: every attempt must be refused
    const { host: a } = await startLocalHost({
      bootstrap: [b.multiaddrs()[0]!],
      peers: { minPeers: 1, maxPeers: 10, dialBackoffBaseMs: 50, dialBackoffMaxMs: 100 },
    });
    hosts.push(a, b);
    await waitFor(() => b.connectedPeers().includes(a.peerId), 10_000, "A connected to B");
    const banned: string[] = [];
    b.on("peerBanned", (ban) => banned.push(ban.peerId));
    let reconnects = 0;
    b.on("peerConnected", ({ peerId }) => {
      if (peerId === a.peerId) reconnects++;
    });

    // what sync does with a forged batch: the host's reputation is its scorer
    b.reputation.penalize(a.peerId, SyncErrorCode.BAD_BATCH_SIGNATURE, {
      kind: "batch",
      detail: { from: 1, to: 64 },
    });
    expect(banned).toEqual([a.peerId]);
    await waitFor(() => !b.connectedPeers().includes(a.peerId), 5_000, "A disconnected");
    await waitFor(() => a.connectedPeers().length === 0, 5_000, "A has no connection");
    // explicit redials on top of A's peer manager's own (50-100 ms backoff): all refused by B's gater
    for (let i = 0; i < 3; i++) {
      const conn = await a.libp2p.dial(multiaddr(b.multiaddrs()[0]!)).catch(() => undefined);
      if (conn) await waitFor(() => conn.status !== "open", 5_000, "refused connection closed");
    }
    expect(b.connectedPeers()).not.toContain(a.peerId);
    const entries = b.securityLog.recent(10);
    expect(entries.map((e) => e.kind)).toEqual(["ban", "batch"]);
    expect(entries[1]).toMatchObject({
      peerId: a.peerId,
      code: SyncErrorCode.BAD_BATCH_SIGNATURE,
      detail: { from: 1, to: 64 },
    });
    expect(reconnects).toBe(0);
  });
});
