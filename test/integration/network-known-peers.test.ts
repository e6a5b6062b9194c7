import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, describe, expect, it } from "vitest";
import { LevelPeerDb, type NetworkHost } from "../../src/network/index.js";
import { recordingLogger, restartLocalHost, startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

describe("known peer addresses persist", () => {
  const tmp = tempDir("quarry-known-");
  const hosts: NetworkHost[] = [];
  const dbs: LevelPeerDb[] = [];
  afterAll(async () => {
    await stopAll(hosts);
    await Promise.all(dbs.map((d) => d.close()));
    tmp.cleanup();
  });

  it("a node restarted while its bootstrap node is down reconnects to the peers it knew", async () => {
    const peers = { minPeers: 3, maxPeers: 10 };
    const { host: boot } = await startLocalHost({ peers });
    hosts.push(boot);
    const bootAddr = boot.multiaddrs()[0]!;
    const { host: c } = await startLocalHost({ bootstrap: [bootAddr], peers });
    const { host: d } = await startLocalHost({ bootstrap: [bootAddr], peers });
    hosts.push(c, d);

    let db = new LevelPeerDb({ location: `${tmp.path}/peers` });
    await db.open();
    const { host: a, privateKey } = await startLocalHost({ bootstrap: [bootAddr], peers }, { peerDb: db });
    await waitFor(
      async () => (await db.knownPeers()).filter((k) => [c.peerId, d.peerId].includes(k.peerId)).length === 2,
      10_000,
      "A persisted C and D",
    );
    await a.stop();
    await db.close();
    await boot.stop();

    db = new LevelPeerDb({ location: `${tmp.path}/peers` });
    await db.open();
    dbs.push(db);
    const started = Date.now();
    const { host: again } = await startLocalHost(
      { bootstrap: [bootAddr], peers },
      { peerDb: db, privateKey },
    );
    hosts.push(again);
    expect(again.peerId).toBe(a.peerId);
    await waitFor(
      () => [c.peerId, d.peerId].every((p) => again.connectedPeers().includes(p)),
      10_000,
      "A reconnected to C and D",
    );
    console.log(
      `known peers: reconnected to 2 known peers in ${Date.now() - started} ms with the bootstrap down`,
    );
    expect(again.connectedPeers()).not.toContain(boot.peerId);
  });

  it("a bootstrap node that is down is logged once, with the reason, and the node keeps its other peers", async () => {
    const { host: live } = await startLocalHost();
    hosts.push(live);
    // a well-formed bootstrap address nobody listens on
    const deadId = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const dead = `/ip4/127.0.0.1/tcp/1/p2p/${deadId}`;
    const log = recordingLogger();
    const { host } = await startLocalHost({ bootstrap: [live.multiaddrs()[0]!, dead] }, { log });
    hosts.push(host);
    const failedDials = () =>
      log.lines.filter((l) => l.msg === "dial failed" && "peerId" in l.obj && l.obj.peerId === deadId);
    await waitFor(() => failedDials().length >= 3, 15_000, "three failed dials of the dead bootstrap node");
    const warnings = log.lines.filter(
      (l) => l.level === "warn" && l.msg.startsWith("bootstrap node unreachable"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ peerId: deadId, reason: expect.any(String) });
    expect(host.connectedPeers()).toContain(live.peerId);
  }, 30_000);

  it("a bootstrap node down at start is logged once, and dialled once it comes up", async () => {
    const { host: live } = await startLocalHost();
    hosts.push(live);
    // the bootstrap node's identity and address, then it goes down before our node starts
    const first = await startLocalHost();
    const bootAddr = first.host.multiaddrs()[0]!;
    await first.host.stop();
    const log = recordingLogger();
    const { host } = await startLocalHost({ bootstrap: [live.multiaddrs()[0]!, bootAddr] }, { log });
    hosts.push(host);
    const failedDials = () =>
      log.lines.filter(
        (l) => l.msg === "dial failed" && "peerId" in l.obj && l.obj.peerId === first.host.peerId,
      );
    await waitFor(() => failedDials().length >= 3, 15_000, "three failed dials of the bootstrap node");
    expect(host.connectedPeers()).toContain(live.peerId);
    // it comes up on the same address: the retries (with backoff) reach it
    const back = await restartLocalHost(
      { listen: [bootAddr.split("/p2p/")[0]!] },
      { privateKey: first.privateKey },
    );
    hosts.push(back.host);
    await waitFor(
      () => host.connectedPeers().includes(first.host.peerId),
      20_000,
      "connected to the bootstrap node",
    );
    const warnings = log.lines.filter(
      (l) => l.level === "warn" && l.msg.startsWith("bootstrap node unreachable"),
    );
    expect(warnings).toHaveLength(1);
    expect(host.connectedPeers()).toContain(live.peerId);
  }, 45_000);
});
