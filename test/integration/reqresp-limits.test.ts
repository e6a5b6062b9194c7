import type { Stream } from "@libp2p/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuarryNode } from "../../src/node.js";
import { DEFAULT_SYNC_OPTIONS, MAX_REQUEST_FRAME, SyncErrorCode } from "../../src/sync/index.js";
import { varint } from "../helpers/adversary-peer.js";
import { Cluster } from "../helpers/multinode-cluster.js";
import { createTestLibp2p, type TestLibp2p } from "../helpers/sync-libp2p.js";
import { waitFor } from "../helpers/wait.js";

const MiB = 1024 * 1024;
// RSS of this process (node and attacker both) may grow by at most this much during the attack.
// Before frames were read byte by byte, the same attack grew a node by 111-206 MiB.
const RSS_BOUND_MIB = 64;

/**
 * Plain-libp2p clients (no Quarry code on their side) attack the request/response framing of a
 * node built by createNode: endless varint prefixes, idle streams, half-sent frames.
 */
describe("request/response framing limits (plain libp2p attackers)", () => {
  const cluster = new Cluster();
  const clients: TestLibp2p[] = [];
  let node: QuarryNode;

  beforeAll(async () => {
    node = await cluster.add({ minPeers: 0, maxPeers: 40 });
  }, 20_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.libp2p.stop()));
    await cluster.stopAll();
  }, 20_000);

  async function attacker(): Promise<TestLibp2p> {
    const c = await createTestLibp2p();
    clients.push(c);
    await c.libp2p.dial(node.host.libp2p.getMultiaddrs());
    // Our dial resolves before the node has finished upgrading its side; streams opened before then
    // are libp2p's "early streams", and more than 10 (a wave, plus identify) close the connection
    // (MaxEarlyStreamsError) before any of them reaches the check under test. Seen under load.
    await waitFor(
      () => node.host.libp2p.getConnections(c.libp2p.peerId).length > 0,
      10_000,
      "the node to hold the attacker's connection",
    );
    return c;
  }

  function codesOf(id: string): string[] {
    return node.host.securityLog
      .recent(1000)
      .filter((e) => e.peerId === id)
      .map((e) => e.code);
  }

  /** Opens a stream and resolves when the node has closed or reset it (or `ms` passed: false). */
  function endedWithin(stream: Stream, ms: number): Promise<boolean> {
    if (stream.status !== "open") return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      stream.addEventListener("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  it("SYNC_OVERSIZED: endless 0xff length prefixes into 100 streams are refused at once, memory stays bounded, the sender is banned", async () => {
    const evil = await attacker();
    const id = evil.libp2p.peerId.toString();
    const protocols = Object.values(node.sync.protocols);
    const rssStart = process.memoryUsage.rss();
    let rssMax = rssStart;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
    }, 50);
    // Small chunks, as the reported attack trickled them: each stays under any per-read buffer
    // ceiling, so only a check on the prefix itself can end the stream.
    const chunk = new Uint8Array(256).fill(0xff);
    let sent = 0;
    const started = performance.now();
    const deadline = AbortSignal.timeout(8_000);

    // Each stream trickles 0xff (a varint continuation byte, forever) until the node ends it.
    const trickle = async (protocol: string): Promise<boolean> => {
      let stream: Stream;
      try {
        stream = await evil.libp2p.dialProtocol(node.host.libp2p.getMultiaddrs(), protocol, {
          signal: deadline,
        });
      } catch {
        return true; // refused: hung up or banned already
      }
      const ended = endedWithin(stream, 8_000);
      try {
        while (!deadline.aborted && stream.status === "open") {
          if (!stream.send(chunk)) await stream.onDrain({ signal: deadline });
          sent += chunk.length;
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch {
        // the node reset the stream, or the connection went with the ban
      }
      return ended;
    };
    // Ten waves of ten streams (under the per-peer stream limit, so the prefix check is what
    // acts); a peer hung up at the disconnect threshold simply dials again.
    const results: boolean[] = [];
    for (let wave = 0; wave < 10; wave++) {
      results.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, i) => trickle(protocols[i % protocols.length]!)),
        )),
      );
    }
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;

    expect(results.every(Boolean)).toBe(true);
    await waitFor(
      (note) => {
        const codes = codesOf(id);
        note(codes);
        return codes.includes(SyncErrorCode.OVERSIZED);
      },
      5_000,
      "SYNC_OVERSIZED logged",
    );
    expect(node.host.reputation.isBanned(id)).toBe(true);
    expect(node.host.connectedPeers()).not.toContain(id);
    const grewMiB = (rssMax - rssStart) / MiB;
    console.log(
      `endless varint: 100 streams ended in ${seconds.toFixed(2)} s, attacker sent ${(sent / 1024).toFixed(0)} KiB, RSS +${grewMiB.toFixed(1)} MiB`,
    );
    expect(grewMiB).toBeLessThan(RSS_BOUND_MIB);
  });

  it("SYNC_STREAM_LIMIT: streams above the per-peer limit are refused and charged until the peer is banned", async () => {
    const evil = await attacker();
    const id = evil.libp2p.peerId.toString();
    const limit = DEFAULT_SYNC_OPTIONS.maxInboundStreamsPerPeer;
    // Idle streams (no byte sent), spread over the protocols: only the per-peer limit catches them.
    const protocols = Object.values(node.sync.protocols);
    // A peer hung up at the disconnect threshold dials again, until the ban refuses it.
    let opened = 0;
    for (let i = 0; i < 10 * limit && !node.host.reputation.isBanned(id); i++) {
      try {
        await evil.libp2p.dialProtocol(node.host.libp2p.getMultiaddrs(), protocols[i % protocols.length]!);
        opened++;
      } catch {
        // reset above the limit, or the connection went with the charge
      }
    }
    await waitFor(() => node.host.reputation.isBanned(id), 5_000, "stream flooder banned");
    expect(codesOf(id)).toContain(SyncErrorCode.STREAM_LIMIT);
    expect(codesOf(id)).not.toContain(SyncErrorCode.OVERSIZED);
    expect(opened).toBeGreaterThan(limit);
  });

  it("SYNC_STREAM_LIMIT: half-sent frames past the per-peer byte budget are refused", async () => {
    const evil = await attacker();
    const id = evil.libp2p.peerId.toString();
    const budget = DEFAULT_SYNC_OPTIONS.maxUndecodedBytesPerPeer;
    const length = MAX_REQUEST_FRAME - 8;
    // Each stream announces a whole frame and sends all of it but the last byte, then waits.
    const perStream = length - 1;
    const streams = Math.ceil(budget / perStream) + 1;
    expect(streams).toBeLessThan(DEFAULT_SYNC_OPTIONS.maxInboundStreamsPerPeer);
    for (let i = 0; i < streams; i++) {
      const stream = await evil.libp2p.dialProtocol(
        node.host.libp2p.getMultiaddrs(),
        node.sync.protocols.locator,
      );
      stream.send(Buffer.concat([varint(length), new Uint8Array(perStream)]));
    }
    await waitFor(
      () => codesOf(id).includes(SyncErrorCode.STREAM_LIMIT),
      5_000,
      "byte budget refusal logged",
    );
    expect(node.host.reputation.isBanned(id)).toBe(false);
  });
});
