import { multiaddr } from "@multiformats/multiaddr";
import { afterEach, describe, expect, it } from "vitest";
import type { NetworkHost } from "../../src/network/index.js";
import { NetworkErrorCode } from "../../src/network/index.js";
import { PENALTIES } from "../../src/node/penalties.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { createMaliciousClient } from "../helpers/network-malicious.js";
import { waitFor } from "../helpers/wait.js";

describe("network discovery (real libp2p on 127.0.0.1)", () => {
  const hosts: NetworkHost[] = [];
  afterEach(async () => {
    await stopAll(hosts.splice(0));
  });

  it("5 nodes that know only the bootstrap node find each other through the DHT and reach minPeers", async () => {
    const started = Date.now();
    const { host: boot } = await startLocalHost({ peers: { minPeers: 3, maxPeers: 10 } });
    hosts.push(boot);
    const bootAddr = boot.multiaddrs()[0]!;
    const others = await Promise.all(
      Array.from({ length: 4 }, () =>
        startLocalHost({ bootstrap: [bootAddr], peers: { minPeers: 3, maxPeers: 10 } }),
      ),
    );
    hosts.push(...others.map((o) => o.host));
    await waitFor(
      () => hosts.every((h) => h.connectedPeers().length >= 3),
      15_000,
      "every node at ≥ 3 peers",
    );
    const elapsed = Date.now() - started;
    // every non-bootstrap node found at least two peers it was never told about
    for (const { host } of others) {
      const nonBoot = host.connectedPeers().filter((p) => p !== boot.peerId);
      expect(nonBoot.length).toBeGreaterThanOrEqual(2);
    }
    console.log(`discovery: 5 nodes at ≥3 peers in ${elapsed} ms`);
  });

  it("health checks: a peer that never answers pings is dropped after maxPingFailures (NET_UNRESPONSIVE)", async () => {
    const { host } = await startLocalHost({
      peers: { minPeers: 0, maxPeers: 10, pingIntervalMs: 100, pingTimeoutMs: 200, maxPingFailures: 2 },
    });
    hosts.push(host);
    // a plain libp2p peer without the ping protocol: every ping fails
    const mute = await createMaliciousClient();
    try {
      await mute.dial(multiaddr(host.multiaddrs()[0]!));
      await waitFor(() => host.connectedPeers().includes(mute.peerId.toString()), 5_000, "connected");
      await waitFor(() => !host.connectedPeers().includes(mute.peerId.toString()), 5_000, "dropped");
      expect(host.reputation.score(mute.peerId.toString())).toBeCloseTo(
        PENALTIES[NetworkErrorCode.UNRESPONSIVE],
        0,
      );
    } finally {
      await mute.stop();
    }
  });
});
