import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import {
  LevelPeerDb,
  type NetworkHost,
  OPERATOR_BAN_CODE,
  PeerControlErrorCode,
} from "../../src/network/index.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The operator's hand on peers (`host.control`, behind banPeer/unbanPeer/connectPeer/
 * disconnectPeer/getPeers) on real libp2p hosts over 127.0.0.1: a ban disconnects and refuses
 * both ways and survives a restart; an unban lets the peer connect again.
 */

/** Dials `to` from `from`; true when a connection opened and stayed open until identify ran. */
async function dialHolds(from: NetworkHost, to: NetworkHost): Promise<boolean> {
  const conn = await from.libp2p.dial(multiaddr(to.multiaddrs()[0]!)).catch(() => undefined);
  if (!conn) return false;
  // A gater refusal after encryption closes the connection at once: wait for either outcome.
  return waitFor(
    () =>
      conn.status !== "open" ? "closed" : to.connectedPeers().includes(from.peerId) ? "open" : undefined,
    5_000,
    "the dialled connection to settle",
  ).then((state) => state === "open");
}

async function expectCode(p: Promise<unknown>, code: PeerControlErrorCode): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

describe("operator peer control", () => {
  const hosts: NetworkHost[] = [];
  const tmp = tempDir("quarry-peer-control-");
  afterAll(async () => {
    await stopAll(hosts);
    tmp.cleanup();
  });

  it("OPERATOR_BAN of a peer id disconnects it, refuses it both ways, survives a restart; unban lets it connect", async () => {
    const dbPath = join(tmp.path, "peers-b");
    const peerDb = new LevelPeerDb({ location: dbPath });
    await peerDb.open();
    const quiet = { peers: { minPeers: 0, maxPeers: 10 } };
    const { host: b, privateKey: bKey } = await startLocalHost(quiet, { peerDb });
    const { host: a } = await startLocalHost(quiet);
    hosts.push(a, b);
    expect(await dialHolds(a, b)).toBe(true);

    const ban = b.control.ban({ kind: "peer", peerId: a.peerId }, "operator test", 600_000);
    expect(ban).toMatchObject({
      kind: "peer",
      target: a.peerId,
      code: OPERATOR_BAN_CODE,
      reason: "operator test",
    });
    expect(ban.untilMs - ban.sinceMs).toBe(600_000);
    await waitFor(() => !b.connectedPeers().includes(a.peerId), 5_000, "A disconnected by the ban");
    expect(await dialHolds(a, b)).toBe(false);
    await expectCode(b.control.connect(multiaddr(a.multiaddrs()[0]!)), PeerControlErrorCode.BANNED);
    await expect(b.libp2p.dial(multiaddr(a.multiaddrs()[0]!))).rejects.toThrow();
    expect(b.securityLog.recent(5).at(-1)).toMatchObject({
      kind: "ban",
      peerId: a.peerId,
      code: OPERATOR_BAN_CODE,
    });

    // restart B on the same peer database: the ban is still there and still refuses A
    await b.stop();
    await peerDb.close();
    const reopened = new LevelPeerDb({ location: dbPath });
    await reopened.open();
    const { host: b2 } = await startLocalHost(quiet, { peerDb: reopened, privateKey: bKey });
    hosts.push(b2);
    expect(b2.control.bans()).toMatchObject([{ kind: "peer", target: a.peerId, reason: "operator test" }]);
    expect(await dialHolds(a, b2)).toBe(false);

    expect(b2.control.unban({ kind: "peer", peerId: a.peerId })).toMatchObject({ target: a.peerId });
    expect(b2.control.bans()).toEqual([]);
    expect(await dialHolds(a, b2)).toBe(true);
    // and B may dial A itself again
    await b2.control.disconnect(a.peerId);
    await waitFor(() => !b2.connectedPeers().includes(a.peerId), 5_000, "A disconnected");
    const connected = await b2.control.connect(multiaddr(a.multiaddrs()[0]!));
    expect(connected.peerId).toBe(a.peerId);
    await b2.stop();
    await reopened.close();
    // the unban was persisted too
    const again = new LevelPeerDb({ location: dbPath });
    await again.open();
    expect(await again.bans()).toEqual([]);
    await again.close();
  });

  it("OPERATOR_BAN of an IP address refuses connections from and dials to it until unbanned", async () => {
    const quiet = { peers: { minPeers: 0, maxPeers: 10 } };
    const { host: b } = await startLocalHost(quiet);
    const { host: a } = await startLocalHost(quiet);
    hosts.push(a, b);
    expect(await dialHolds(a, b)).toBe(true);

    const ban = b.control.ban(b.control.parseTarget("127.0.0.1"), "whole subnet of trouble", 60_000);
    expect(ban).toMatchObject({ kind: "address", target: "127.0.0.1" });
    await waitFor(() => b.connectedPeers().length === 0, 5_000, "connections from 127.0.0.1 closed");
    expect(await dialHolds(a, b)).toBe(false);
    await expectCode(b.control.connect(multiaddr(a.multiaddrs()[0]!)), PeerControlErrorCode.BANNED);

    b.control.unban({ kind: "address", address: "127.0.0.1" });
    expect(await dialHolds(a, b)).toBe(true);
  });

  it("the peer table reports address, direction, since, latency, agent, protocols, score and bytes", async () => {
    const { host: b } = await startLocalHost({ peers: { minPeers: 0, maxPeers: 10, pingIntervalMs: 100 } });
    const { host: a } = await startLocalHost({ peers: { minPeers: 0, maxPeers: 10 } });
    hosts.push(a, b);
    const before = Date.now();
    expect(await dialHolds(a, b)).toBe(true);
    a.reputation.penalize(b.peerId, "NET_FLOOD");
    const view = await waitFor(
      async () => {
        const row = (await b.control.peers()).find((p) => p.peerId === a.peerId);
        return row && row.latencyMs !== null && row.agent !== null ? row : undefined;
      },
      5_000,
      "A identified and pinged",
    );
    expect(view.direction).toBe("inbound");
    expect(view.address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    expect(view.connectedSinceMs).toBeGreaterThanOrEqual(before - 1_000);
    expect(view.latencyMs).toBeGreaterThanOrEqual(0);
    expect(view.agent).toMatch(/libp2p/);
    expect(view.protocols).toContain("/ipfs/ping/1.0.0");
    expect(view.bytesIn).toBeGreaterThan(0);
    expect(view.bytesOut).toBeGreaterThan(0);
    const fromA = (await a.control.peers()).find((p) => p.peerId === b.peerId);
    expect(fromA).toMatchObject({ direction: "outbound", score: 1 });
  });

  it("PEER_NOT_CONNECTED, PEER_NOT_BANNED, PEER_BAD_TARGET, PEER_SELF, PEER_BAD_MULTIADDR, PEER_DIAL_FAILED", async () => {
    const { host: b } = await startLocalHost({ peers: { minPeers: 0, maxPeers: 10 } });
    const { host: a } = await startLocalHost({ peers: { minPeers: 0, maxPeers: 10 } });
    hosts.push(a, b);
    await expectCode(b.control.disconnect(a.peerId), PeerControlErrorCode.NOT_CONNECTED);
    expect(() => b.control.unban({ kind: "peer", peerId: a.peerId })).toThrow(
      expect.objectContaining({ code: PeerControlErrorCode.NOT_BANNED }),
    );
    expect(() => b.control.parseTarget("not-a-peer")).toThrow(
      expect.objectContaining({ code: PeerControlErrorCode.BAD_TARGET }),
    );
    expect(() => b.control.parseTarget(b.peerId)).toThrow(
      expect.objectContaining({ code: PeerControlErrorCode.SELF }),
    );
    expect(() => b.control.parseMultiaddr("/ip4/300.1.1.1/tcp/1")).toThrow(
      expect.objectContaining({ code: PeerControlErrorCode.BAD_MULTIADDR }),
    );
    // a's port, closed: stop a first
    const aAddr = a.multiaddrs()[0]!;
    await a.stop();
    await expectCode(b.control.connect(multiaddr(aAddr)), PeerControlErrorCode.DIAL_FAILED);
  });
});
