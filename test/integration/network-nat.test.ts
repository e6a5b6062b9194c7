import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkHost } from "../../src/network/index.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

// Real libp2p on 127.0.0.1. Loopback cannot hide a node behind NAT, so "private" is the
// operator's word here; the namespace testbed (docs/TESTBED.md) has real NAT routers.
describe("NAT traversal: relay reservations, relayed connections, rendezvous", () => {
  const hosts: NetworkHost[] = [];
  let relay: NetworkHost;
  let hidden: NetworkHost;
  let hidden2: NetworkHost;
  const fast = { rendezvousIntervalMs: 500 };

  beforeAll(async () => {
    relay = (await startLocalHost({ nat: { reachability: "public" } })).host;
    hosts.push(relay);
    const boot = [relay.multiaddrs()[0]!];
    hidden = (await startLocalHost({ bootstrap: boot, nat: { reachability: "private", ...fast } })).host;
    hosts.push(hidden);
  }, 30_000);

  afterAll(async () => {
    await stopAll(hosts);
  });

  it("local reachability keeps the loopback behaviour: DHT server, no relay address", async () => {
    const { host } = await startLocalHost();
    hosts.push(host);
    expect(host.natStatus()).toMatchObject({ mode: "local", reachability: "local", dhtMode: "server" });
    expect(host.multiaddrs().some((a) => a.includes("/p2p-circuit"))).toBe(false);
  });

  it("a private node is a DHT client, reserves a slot on the public relay and advertises only the relayed address", async () => {
    expect(relay.natStatus()).toMatchObject({ reachability: "public", dhtMode: "server" });
    expect(hidden.natStatus()).toMatchObject({ reachability: "private", dhtMode: "client" });
    const status = await waitFor(
      () => (hidden.natStatus().relayAddresses.length > 0 ? hidden.natStatus() : undefined),
      15_000,
      "a relay reservation",
    );
    expect(
      status.relayAddresses.every((a) => a.includes(`/p2p/${relay.peerId}/p2p-circuit/p2p/${hidden.peerId}`)),
    ).toBe(true);
    expect(status.relayReachableAfterMs).toBeGreaterThanOrEqual(0);
    // nobody elsewhere can dial a node's loopback or unverified public addresses: they go (LAN
    // addresses would stay, for peers behind the same NAT; loopback has none)
    await waitFor(
      () => hidden.multiaddrs().every((a) => a.includes("/p2p-circuit")),
      5_000,
      "only relayed addresses",
    );
  });

  it("a peer dials the relayed address: the connection is limited, and gossip crosses it", async () => {
    const relayAddr = await waitFor(() => hidden.natStatus().relayAddresses[0], 15_000, "relay address");
    // a node nobody knows yet (no bootstrap, a DHT client): its only way to the hidden node is
    // the relayed address
    const dialer = (await startLocalHost({ nat: { reachability: "private", ...fast } })).host;
    hosts.push(dialer);
    const conn = await dialer.libp2p.dial(multiaddr(relayAddr));
    expect(conn.remoteAddr.toString()).toContain("/p2p-circuit");
    expect(conn.limits).toBeDefined();
    // the relay has no gossip handler, so it ignores (and never forwards) what it receives: a
    // message that reaches the dialer from the hidden node came over the relayed connection
    const received: string[] = [];
    dialer.setBlockHandler(async (_bytes, from) => {
      received.push(from);
      return { result: "accept" };
    });
    hidden.setBlockHandler(async () => ({ result: "accept" }));
    await waitFor(() => dialer.blockMeshPeers().includes(hidden.peerId), 10_000, "mesh over the relay");
    await hidden.publishBlock(new TextEncoder().encode(`relayed gossip ${Date.now()}`));
    await waitFor(() => received.includes(hidden.peerId), 5_000, "gossip through the relay");
    // the host counts what arrived over relay-only connections
    await waitFor(
      () => dialer.natStatus().relayedDeliveries.block === 1,
      5_000,
      "a relayed delivery counted",
    );
    expect(dialer.natStatus()).toMatchObject({
      relayedPeers: [hidden.peerId],
      relayedBlockMeshPeers: [hidden.peerId],
      // per peer: who fed us the blocks we took
      blockDeliveriesByPeer: { [hidden.peerId]: 1 },
    });
  }, 30_000);

  it("two private nodes find each other through the DHT rendezvous record and connect", async () => {
    hidden2 = (
      await startLocalHost({ bootstrap: [relay.multiaddrs()[0]!], nat: { reachability: "private", ...fast } })
    ).host;
    hosts.push(hidden2);
    // a DHT client is in nobody's routing table: only the rendezvous record introduces them
    await waitFor(() => hidden2.connectedPeers().includes(hidden.peerId), 20_000, "rendezvous connection");
    await waitFor(
      () => hidden2.natStatus().directUnreachablePeers + hidden2.natStatus().relayedConnections > 0,
      5_000,
      "counted",
    );
  }, 30_000);
});
