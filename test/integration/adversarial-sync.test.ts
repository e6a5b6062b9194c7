import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockSubsidy, REGTEST } from "../../src/consensus/params.js";
import type { QuarryNode } from "../../src/node.js";
import { blockHash } from "../../src/primitives/index.js";
import { encodeLocatorRequest, MAX_REQUEST_FRAME, ResultCode, SyncErrorCode } from "../../src/sync/index.js";
import { rawExchange, unframe, varint } from "../helpers/adversary-peer.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { createTestLibp2p, type TestLibp2p } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer, type Misbehaviour } from "../helpers/sync-malicious.js";
import { waitFor } from "../helpers/wait.js";

const PREFIX = 10;

describe("adversarial sync peers (plain libp2p) against a createNode node", () => {
  const cluster = new Cluster();
  const peers: TestLibp2p[] = [];
  const builder = ChainBuilder.create();
  let node: QuarryNode;
  let tipBefore: string;

  beforeAll(async () => {
    await builder.mineMany(PREFIX);
    node = await cluster.add({ minPeers: 0, maxPeers: 40 });
    await feedBlocks(node, builder.blocks.slice(1));
    tipBefore = node.chain.tip.hashHex;
  }, 20_000);

  afterAll(async () => {
    await Promise.allSettled(peers.map((p) => p.libp2p.stop()));
    await cluster.stopAll();
  }, 20_000);

  async function rawClient(): Promise<TestLibp2p> {
    const c = await createTestLibp2p();
    peers.push(c);
    return c;
  }

  function logFor(id: string) {
    return node.host.securityLog.recent(1000).filter((e) => e.peerId === id);
  }

  function expectTipUnchanged(): void {
    expect(node.chain.tip.hashHex).toBe(tipBefore);
    expect(node.chain.height).toBe(PREFIX);
  }

  it.each<[Misbehaviour, SyncErrorCode]>([
    ["forged-signature", SyncErrorCode.BAD_BATCH_SIGNATURE],
    ["invalid-blocks", SyncErrorCode.INVALID_BATCH],
  ])("%s batches: %s is penalised, logged with evidence, and the tip is unchanged", async (how, code) => {
    const bad = builder.fork(PREFIX);
    if (how === "invalid-blocks")
      await bad.mine({ coinbaseAmount: blockSubsidy(PREFIX + 1, REGTEST) * 2n, mutate: () => undefined });
    await bad.mineMany(how === "invalid-blocks" ? 5 : 6, { mutate: () => undefined });
    const evil = await createMaliciousPeer(REGTEST, bad.blocks.slice(1), how);
    peers.push(evil);
    const id = evil.libp2p.peerId.toString();
    await evil.libp2p.dial(node.host.libp2p.getMultiaddrs());
    await waitFor(() => logFor(id).some((e) => e.code === code), 10_000, `${code} logged`);
    const entry = logFor(id).find((e) => e.code === code && e.kind !== "ban");
    expect(entry?.kind).toBe("batch");
    if (how === "invalid-blocks") expect(typeof entry?.detail?.batch).toBe("string");
    expect(node.host.reputation.score(id)).toBeGreaterThan(0);
    expectTipUnchanged();
  });

  // SYNC_* codes are keys of the one penalty table: SYNC_BAD_BATCH_SIGNATURE is a ban on the first offence.
  it("SYNC_BAD_BATCH_SIGNATURE: forged-signature batches get the peer banned at once", async () => {
    const bad = builder.fork(PREFIX);
    await bad.mineMany(3, { mutate: () => undefined });
    const evil = await createMaliciousPeer(REGTEST, bad.blocks.slice(1), "forged-signature");
    peers.push(evil);
    const id = evil.libp2p.peerId.toString();
    await evil.libp2p.dial(node.host.libp2p.getMultiaddrs());
    await waitFor(() => logFor(id).length > 0, 10_000, "forgery logged");
    expect(node.host.reputation.isBanned(id)).toBe(true);
  });

  it("SYNC_OVERSIZED: a request frame whose length prefix passes the ceiling is refused before it is buffered and penalised", async () => {
    const c = await rawClient();
    const id = c.libp2p.peerId.toString();
    const frame = Buffer.concat([varint(MAX_REQUEST_FRAME + 1_000_000), new Uint8Array(64)]);
    const answer = await rawExchange(c.libp2p, node, node.sync.protocols.locator, frame);
    expect(answer.length).toBe(0);
    await waitFor(
      () => logFor(id).some((e) => e.code === SyncErrorCode.OVERSIZED),
      5_000,
      "oversized logged",
    );
    expect(logFor(id)[0]?.kind).toBe("frame");
    expect(node.host.reputation.score(id)).toBeGreaterThan(0);
    expectTipUnchanged();
  });

  it("SYNC_MALFORMED: a whole frame holding a truncated message is answered INVALID_REQUEST and penalised", async () => {
    const c = await rawClient();
    const id = c.libp2p.peerId.toString();
    // locator count 1, then 6 of the hash's 32 bytes
    const body = Uint8Array.from([0, 0, 0, 1, 9, 9, 9, 9, 9, 9]);
    const answer = await rawExchange(
      c.libp2p,
      node,
      node.sync.protocols.locator,
      Buffer.concat([varint(10), body]),
    );
    expect(unframe(answer)[0]).toBe(ResultCode.INVALID_REQUEST);
    await waitFor(
      () => logFor(id).some((e) => e.code === SyncErrorCode.MALFORMED),
      5_000,
      "malformed logged",
    );
    expectTipUnchanged();
  });

  it("a truncated frame (the stream ends inside it) is dropped without an answer and leaves the node serving", async () => {
    const c = await rawClient();
    const id = c.libp2p.peerId.toString();
    const answer = await rawExchange(
      c.libp2p,
      node,
      node.sync.protocols.blocksByHash,
      Buffer.concat([varint(4 + 32 * 3), new Uint8Array(40)]),
    );
    expect(answer.length).toBe(0);
    // Not penalised: a stream ending mid-frame cannot be told from a dropped connection.
    expect(node.host.reputation.score(id)).toBe(0);
    // The node still answers a well-formed request on the same protocol family.
    const locator = encodeLocatorRequest({ locator: [blockHash(builder.block(0))], maxHashes: 5 });
    const ok = await rawExchange(
      c.libp2p,
      node,
      node.sync.protocols.locator,
      Buffer.concat([varint(locator.length), locator]),
    );
    expect(unframe(ok)[0]).toBe(ResultCode.OK);
    expectTipUnchanged();
  });
});
