import { afterEach, describe, expect, it } from "vitest";
import type { NetworkHost } from "../../src/network/index.js";
import { recordingLogger, restartLocalHost, startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

// A relay that drops our reservation (it goes away, or hangs up on us): the NATed node says so
// once, with the reason, keeps its other peers, and reserves again on another relay or on the same
// one when it is back. Real libp2p on 127.0.0.1 ("private" is the operator's word here).

const LOST = "relay reservation lost";
const fast = { rendezvousIntervalMs: 500 };

/** The relay peer id in `/…/p2p/<relay>/p2p-circuit/p2p/<us>`. */
function relayOf(addr: string): string {
  const parts = addr.split("/");
  return parts[parts.indexOf("p2p-circuit") - 1]!;
}

describe("a relay that drops our reservation", () => {
  const hosts: NetworkHost[] = [];
  afterEach(async () => {
    await stopAll(hosts);
    hosts.length = 0;
  });

  it("is logged once, and the node reserves on another relay, keeping its other peers", async () => {
    const a = (await startLocalHost({ nat: { reachability: "public" } })).host;
    const b = (await startLocalHost({ nat: { reachability: "public" } })).host;
    hosts.push(a, b);
    const log = recordingLogger();
    const hidden = (
      await startLocalHost(
        { bootstrap: [a.multiaddrs()[0]!, b.multiaddrs()[0]!], nat: { reachability: "private", ...fast } },
        { log },
      )
    ).host;
    hosts.push(hidden);
    const first = await waitFor(() => hidden.natStatus().relayAddresses[0], 15_000, "a reservation");
    const [dropping, other] = relayOf(first) === a.peerId ? [a, b] : [b, a];
    await waitFor(() => hidden.connectedPeers().includes(other.peerId), 10_000, "both relays connected");
    await dropping.stop();
    const next = await waitFor(
      () => hidden.natStatus().relayAddresses.find((r) => relayOf(r) === other.peerId),
      20_000,
      "a reservation on the other relay",
    );
    expect(next).toContain(`/p2p/${other.peerId}/p2p-circuit/p2p/${hidden.peerId}`);
    // said once, naming the relay
    const warnings = log.lines.filter((l) => l.level === "warn" && l.msg.startsWith(LOST));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ relays: [dropping.peerId], lost: [first] });
    expect(hidden.connectedPeers()).toContain(other.peerId);
  }, 45_000);

  it("is logged once while it stays away, and the node reserves on it again when it is back", async () => {
    const relay = await startLocalHost({ nat: { reachability: "public" } });
    hosts.push(relay.host);
    const relayAddr = relay.host.multiaddrs()[0]!;
    const peer = (await startLocalHost({ bootstrap: [relayAddr] })).host;
    hosts.push(peer);
    const log = recordingLogger();
    const hidden = (
      await startLocalHost(
        { bootstrap: [relayAddr, peer.multiaddrs()[0]!], nat: { reachability: "private", ...fast } },
        { log },
      )
    ).host;
    hosts.push(hidden);
    await waitFor(() => hidden.natStatus().relayAddresses.length > 0, 15_000, "a reservation");
    await waitFor(() => hidden.connectedPeers().includes(peer.peerId), 10_000, "the other peer connected");
    await relay.host.stop();
    await waitFor(() => hidden.natStatus().relayAddresses.length === 0, 15_000, "the reservation gone");
    // several failed redials of the relay (it is a bootstrap node) while it is away: one warning each
    const failedDials = () =>
      log.lines.filter(
        (l) => l.msg === "dial failed" && (l.obj as { peerId?: string }).peerId === relay.host.peerId,
      );
    await waitFor(() => failedDials().length >= 3, 15_000, "three failed redials of the relay");
    expect(log.lines.filter((l) => l.level === "warn" && l.msg.startsWith(LOST))).toHaveLength(1);
    expect(
      log.lines.filter((l) => l.level === "warn" && l.msg.startsWith("bootstrap node unreachable")),
    ).toHaveLength(1);
    expect(hidden.connectedPeers()).toContain(peer.peerId);
    // back on the same address with the same identity
    const back = await restartLocalHost(
      { listen: [relayAddr.split("/p2p/")[0]!], nat: { reachability: "public" } },
      { privateKey: relay.privateKey },
    );
    hosts.push(back.host);
    const again = await waitFor(() => hidden.natStatus().relayAddresses[0], 30_000, "a reservation again");
    expect(relayOf(again)).toBe(relay.host.peerId);
    expect(log.lines.filter((l) => l.level === "warn" && l.msg.startsWith(LOST))).toHaveLength(1);
  }, 90_000);
});
