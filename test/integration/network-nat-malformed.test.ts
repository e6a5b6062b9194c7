import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkHost } from "../../src/network/index.js";
import { recordingLogger, startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

// Circuit relay v2 (hop, stop) and DCUtR are libp2p's protocols: libp2p parses their messages and
// rejects malformed ones. This shows what a malformed message costs a Quarry node: the stream it
// came on, nothing more. The attacker is plain libp2p (tcp, noise, yamux, identify) sharing no
// code with Quarry's host, writing raw bytes on the protocol streams over 127.0.0.1.

const HOP = "/libp2p/circuit/relay/0.2.0/hop";
const STOP = "/libp2p/circuit/relay/0.2.0/stop";
const DCUTR = "/libp2p/dcutr";
const MiB = 1024 * 1024;

/** Unsigned LEB128, the length prefix of every message on these streams. */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function framed(body: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(body.length), ...body]);
}

/**
 * Malformed messages per protocol. Field 1 of each message is its type (varint). `garbage`:
 * bytes that are no protobuf (wire type 7 does not exist); `truncated`: a length prefix of 100
 * with 10 bytes, then our write side closes; `wrong type`: a well-formed message of a type the
 * receiver never accepts first (STATUS for hop/stop, SYNC for DCUtR) or one missing what it needs
 * (a DCUtR CONNECT with no addresses; a stop CONNECT without the peer).
 */
const CASES: { protocol: string; name: string; bytes: Uint8Array }[] = [HOP, STOP, DCUTR].flatMap(
  (protocol) => [
    { protocol, name: "garbage", bytes: framed(new Uint8Array(40).fill(0xff)) },
    { protocol, name: "truncated", bytes: Uint8Array.from([...varint(100), ...new Uint8Array(10).fill(8)]) },
    {
      protocol,
      name: "wrong type",
      bytes: framed(
        protocol === HOP
          ? Uint8Array.from([0x08, 0x02]) // HopMessage{type: STATUS}
          : protocol === STOP
            ? Uint8Array.from([0x08, 0x00]) // StopMessage{type: CONNECT}, no peer
            : Uint8Array.from([0x08, 0xac, 0x02]), // HolePunch{type: SYNC}
      ),
    },
    ...(protocol === DCUTR
      ? [{ protocol, name: "connect without addresses", bytes: framed(Uint8Array.from([0x08, 0x64])) }]
      : []),
  ],
);

interface Outcome {
  /** how our side of the stream ended */
  status: Stream["status"];
  /** the node ended the stream (closed or reset); false: it answered and left its side open */
  endedByNode: boolean;
  /** bytes the node wrote back (a STATUS answer, for instance) */
  answered: number;
}

/**
 * Opens `protocol` on `conn`, writes `bytes`, closes our write side, and waits until the node
 * ends the stream or answers. A node that answers (hop: STATUS UNEXPECTED_MESSAGE) may leave its
 * side open, as libp2p's relay server does after that answer; then we reset it, as a client
 * would, and the test checks below that the node keeps nothing of it.
 */
async function probe(conn: Connection, protocol: string, bytes: Uint8Array): Promise<Outcome> {
  const stream = await conn.newStream(protocol);
  let answered = 0;
  stream.addEventListener("message", (evt) => {
    answered += evt.data.byteLength;
  });
  let ended = false;
  stream.addEventListener("close", () => {
    ended = true;
  });
  try {
    stream.send(bytes);
  } catch {
    // the node refused the stream before our bytes went out (its inbound stream limit)
  }
  void stream.close().catch(() => undefined);
  // the node's own timeouts bound a message that never completes (hop 30 s); ours ends sooner
  await waitFor(() => ended || answered > 0, 45_000, `${protocol}: the node to end the stream or answer`);
  // give an answer's close a moment to follow it
  await waitFor(() => ended, 2_000, "close after the answer").catch(() => undefined);
  const endedByNode = ended;
  if (!ended) stream.abort(new Error("client gives up"));
  return { status: stream.status, endedByNode, answered };
}

/** The cases of one protocol one after another (DCUtR takes one inbound stream at a time). */
async function probeAll(conn: Connection, protocol: string): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const c of CASES.filter((x) => x.protocol === protocol))
    out.push(await probe(conn, protocol, c.bytes));
  return out;
}

describe("malformed circuit relay and DCUtR messages cost the node nothing beyond the stream", () => {
  const hosts: NetworkHost[] = [];
  const log = recordingLogger();
  let relay: NetworkHost;
  let hidden: NetworkHost;
  let attacker: Libp2p;
  let conn: Connection;

  beforeAll(async () => {
    // the target: a public node (relay server: hop; relay transport: stop; DCUtR), with a NATed
    // peer holding a reservation on it
    relay = (await startLocalHost({ nat: { reachability: "public" } }, { log })).host;
    hosts.push(relay);
    hidden = (
      await startLocalHost({
        bootstrap: [relay.multiaddrs()[0]!],
        nat: { reachability: "private", rendezvousIntervalMs: 500 },
      })
    ).host;
    hosts.push(hidden);
    await waitFor(() => hidden.natStatus().relayAddresses.length > 0, 15_000, "a reservation on the relay");
    attacker = await createLibp2p({
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // ping answered: the node pings every peer and hangs up on one that never answers, which
      // would end this connection for a reason the test is not about on a slow run
      services: { identify: identify(), ping: ping() },
    });
    conn = await attacker.dial(multiaddr(relay.multiaddrs()[0]!));
  }, 30_000);

  afterAll(async () => {
    await attacker?.stop();
    await stopAll(hosts);
  });

  it("every malformed message ends its own stream; the connection, the node's peers and its reservations stay", async () => {
    const warnings = log.lines.filter((l) => l.level === "warn" || l.level === "error").length;
    // the three protocols at once, each protocol's cases in turn
    const outcomes = (await Promise.all([HOP, STOP, DCUTR].map((p) => probeAll(conn, p)))).flat();
    const cases = [HOP, STOP, DCUTR].flatMap((p) => CASES.filter((c) => c.protocol === p));
    for (const [i, o] of outcomes.entries()) {
      const c = cases[i]!;
      // the node ended it, or answered (and we ended it)
      expect(o.endedByNode || o.answered > 0, `${c.protocol} ${c.name}`).toBe(true);
      // at most a short STATUS answer (hop and stop answer MALFORMED_MESSAGE/UNEXPECTED_MESSAGE)
      expect(o.answered, `${c.protocol} ${c.name}`).toBeLessThan(64);
    }
    // the node holds none of those streams any more
    const leftover = () =>
      relay.libp2p
        .getConnections(attacker.peerId)
        .flatMap((c) => c.streams)
        .filter((st) => [HOP, STOP, DCUTR].includes(st.protocol ?? ""));
    await waitFor(() => leftover().length === 0, 10_000, "no relay/DCUtR stream left on the node");
    // the attacker's connection was not closed for it, and Quarry charged nothing: libp2p's
    // protocols are libp2p's to judge, and it judged only the streams
    expect(conn.status).toBe("open");
    expect(relay.connectedPeers()).toContain(attacker.peerId.toString());
    const view = (await relay.control.peers()).find((p) => p.peerId === attacker.peerId.toString());
    expect(view?.score).toBe(0);
    // Quarry logged nothing about it (libp2p logs its own rejections at debug level, off here)
    expect(log.lines.filter((l) => l.level === "warn" || l.level === "error").length).toBe(warnings);
    // the node keeps its other peer and that peer keeps its reservation
    expect(relay.connectedPeers()).toContain(hidden.peerId);
    expect(hidden.natStatus().relayAddresses.length).toBeGreaterThan(0);
  }, 60_000);

  it.each([HOP, STOP])(
    "%s: a length prefix of 1 GiB is cut off at libp2p's read buffer (4 MiB), not buffered",
    async (protocol) => {
      const received = async () =>
        (await relay.control.peers()).find((p) => p.peerId === attacker.peerId.toString())?.bytesIn ?? 0;
      const before = await received();
      const stream = await conn.newStream(protocol);
      let ended = false;
      stream.addEventListener("close", () => {
        ended = true;
      });
      stream.send(varint(1024 * MiB));
      const chunk = new Uint8Array(64 * 1024).fill(8);
      let queued = 0;
      // offer up to 64 MiB (queued on our side; the muxer's window decides what crosses)
      while (queued < 64 * MiB && !ended && stream.writeStatus === "writable") {
        if (!stream.send(chunk)) await stream.onDrain().catch(() => undefined);
        queued += chunk.length;
      }
      await waitFor(() => ended, 30_000, "the node to end the stream");
      expect(["reset", "aborted"]).toContain(stream.status);
      // what crossed the connection: the 4 MiB libp2p buffers before it aborts the stream, plus
      // what the muxer's window (up to 16 MiB) let through before the reset came back; far below
      // the claimed 1 GiB and below what we offered
      expect((await received()) - before).toBeLessThan(32 * MiB);
      expect(conn.status).toBe("open");
      expect(relay.connectedPeers()).toContain(hidden.peerId);
    },
    60_000,
  );

  it("after all that the relay still takes a new reservation", async () => {
    const late = (
      await startLocalHost({
        bootstrap: [relay.multiaddrs()[0]!],
        nat: { reachability: "private", rendezvousIntervalMs: 500 },
      })
    ).host;
    hosts.push(late);
    await waitFor(() => late.natStatus().relayAddresses.length > 0, 15_000, "a new reservation");
  }, 30_000);
});
