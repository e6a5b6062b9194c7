import { randomBytes } from "node:crypto";
import type { GossipSub } from "@libp2p/gossipsub";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import {
  blockGossipHandler,
  LevelPeerDb,
  NetworkErrorCode,
  type NetworkHost,
} from "../../src/network/index.js";
import { blockEnvelope } from "../../src/primitives/block.js";
import { encodeBlock, toHex } from "../../src/primitives/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { startLocalHost } from "../helpers/network-helpers.js";
import { createMaliciousClient } from "../helpers/network-malicious.js";
import { type OpenedChain, openChain } from "../helpers/open-chain.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

const topic = REGTEST.blockTopic;

/** Connects the client to `host` and waits until each sees the other on the topic. */
async function joinTopic(
  client: Libp2p<{ pubsub: GossipSub }>,
  host: NetworkHost,
  topic = REGTEST.blockTopic,
): Promise<void> {
  client.services.pubsub.subscribe(topic);
  await client.dial(multiaddr(host.multiaddrs()[0]!));
  await waitFor(
    () =>
      client.services.pubsub.getSubscribers(topic).some((p) => p.toString() === host.peerId) &&
      host.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.equals(client.peerId)),
    10_000,
    "topic peers",
  );
}

/**
 * The honest side's connection gater refuses the banned peer after the Noise handshake (when its
 * identity is known), so the client's dial either fails or yields a connection that closes at once.
 */
async function expectRefused(client: Libp2p, host: NetworkHost): Promise<void> {
  let connected = false;
  const onConnect = (evt: CustomEvent<{ toString(): string }>) => {
    if (evt.detail.toString() === client.peerId.toString()) connected = true;
  };
  host.libp2p.addEventListener("peer:connect", onConnect);
  const conn = await client.dial(multiaddr(host.multiaddrs()[0]!)).catch(() => undefined);
  if (conn) await waitFor(() => conn.status !== "open", 5_000, "refused connection closed");
  host.libp2p.removeEventListener("peer:connect", onConnect);
  expect(connected).toBe(false);
  expect(host.connectedPeers()).not.toContain(client.peerId.toString());
}

describe("a malicious peer on plain libp2p", () => {
  const tmp = tempDir("quarry-malicious-");
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    tmp.cleanup();
  });

  it("malformed blocks and a tx flood far past the rate get peers banned, a valid-work orphan flood costs nothing; honest tip unchanged; bans survive a restart", async () => {
    const builder = ChainBuilder.create();
    const opened: OpenedChain = await openChain(`${tmp.path}/chain`);
    cleanups.push(() => opened.close());
    for (const b of await builder.mineMany(3)) await opened.chain.processBlock(blockEnvelope(b));
    const tipBefore = toHex(opened.chain.tip.hash);

    let peerDb = new LevelPeerDb({ location: `${tmp.path}/peers` });
    await peerDb.open();
    const { host, privateKey } = await startLocalHost(
      { peers: { minPeers: 0, maxPeers: 10 }, gossipRate: { txBurst: 2, txsPerSecond: 1, floodFactor: 2 } },
      { peerDb },
    );
    host.setBlockHandler(blockGossipHandler(opened.chain));
    // every transaction is harmless (already known): only its rate can be held against the sender
    host.setTxHandler(async () => ({ result: "duplicate" }));
    cleanups.push(() => host.stop());

    // 1. malformed bytes: each one is a CODEC_* rejection (25 points), the fourth crosses 100
    const garbler = await createMaliciousClient();
    cleanups.push(async () => garbler.stop());
    await joinTopic(garbler, host);
    for (let i = 0; i < 6; i++) await garbler.services.pubsub.publish(topic, randomBytes(200 + i));
    await waitFor(() => host.reputation.isBanned(garbler.peerId.toString()), 5_000, "garbler banned");
    await waitFor(
      () => !host.connectedPeers().includes(garbler.peerId.toString()),
      5_000,
      "garbler disconnected",
    );

    // 2. valid-work orphans as fast as the sender can: ignored and never charged, whatever the rate
    // (a branch of our own whose first block is never sent: every later block is an orphan)
    const orphanSource = ChainBuilder.create();
    await orphanSource.mine({ miner: new Uint8Array(20).fill(0x0f) });
    const orphans = await orphanSource.mineMany(40);
    const orphanSender = await createMaliciousClient();
    cleanups.push(async () => orphanSender.stop());
    await joinTopic(orphanSender, host);
    for (const o of orphans)
      await orphanSender.services.pubsub.publish(topic, encodeBlock(o)).catch(() => undefined);
    await waitFor(() => host.verdicts.total({ code: "ORPHAN" }) >= orphans.length, 10_000, "orphans seen");
    expect(host.reputation.score(orphanSender.peerId.toString())).toBe(0);
    expect(host.reputation.isBanned(orphanSender.peerId.toString())).toBe(false);
    expect(host.verdicts.total({ kind: "block", code: NetworkErrorCode.FLOOD })).toBe(0);

    // 3. harmless transactions far past the rate: throttled (ignored, free) up to twice the rate,
    // then NET_FLOOD (1 point each) until the ban. The abuse bucket refills at 2 a second, so the
    // ban comes after ~100 messages however slowly a loaded machine sends them (4+ a second).
    const flooder = await createMaliciousClient();
    cleanups.push(async () => flooder.stop());
    await joinTopic(flooder, host, REGTEST.txTopic);
    for (let i = 0; i < 2_000 && !host.reputation.isBanned(flooder.peerId.toString()); i++)
      await flooder.services.pubsub.publish(REGTEST.txTopic, randomBytes(100)).catch(() => undefined);
    await waitFor(() => host.reputation.isBanned(flooder.peerId.toString()), 10_000, "flooder banned");
    expect(host.verdicts.total({ code: NetworkErrorCode.THROTTLED })).toBeGreaterThan(0);
    expect(host.verdicts.total({ code: NetworkErrorCode.FLOOD })).toBeGreaterThanOrEqual(100);

    expect(toHex(opened.chain.tip.hash)).toBe(tipBefore);
    expect(opened.chain.height).toBe(3);
    const log = host.securityLog.recent(1000);
    expect(log.some((e) => e.peerId === garbler.peerId.toString() && e.code.startsWith("CODEC_"))).toBe(true);
    expect(log.filter((e) => e.kind === "ban").map((e) => e.peerId)).toEqual(
      expect.arrayContaining([garbler.peerId.toString(), flooder.peerId.toString()]),
    );
    expect(log.some((e) => e.peerId === flooder.peerId.toString() && e.code === NetworkErrorCode.FLOOD)).toBe(
      true,
    );

    // 3. a banned peer cannot reconnect
    await expectRefused(garbler, host);

    // 4. restart the honest node on the same peer DB: the bans are still there and enforced
    await host.stop();
    await peerDb.close();
    peerDb = new LevelPeerDb({ location: `${tmp.path}/peers` });
    await peerDb.open();
    cleanups.push(() => peerDb.close());
    const { host: restarted } = await startLocalHost(
      { peers: { minPeers: 0, maxPeers: 10 } },
      { peerDb, privateKey },
    );
    cleanups.push(() => restarted.stop());
    expect(restarted.reputation.isBanned(garbler.peerId.toString())).toBe(true);
    expect(restarted.reputation.isBanned(flooder.peerId.toString())).toBe(true);
    expect(restarted.reputation.bans()[0]).toMatchObject({ peerId: garbler.peerId.toString() });
    expect(restarted.securityLog.recent(1000).length).toBe(log.length);
    await expectRefused(flooder, restarted);
    await expectRefused(garbler, restarted);
    expect(restarted.connectedPeers()).toEqual([]);
  }, 40_000);
});
