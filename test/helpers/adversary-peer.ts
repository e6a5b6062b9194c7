import type { GossipSub } from "@libp2p/gossipsub";
import type { Libp2p } from "@libp2p/interface";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { compactToTarget, hashToBigInt } from "../../src/consensus/pow.js";
import type { QuarryNode } from "../../src/node.js";
import { type BlockHeader, headerHash } from "../../src/primitives/index.js";
import { createMaliciousClient } from "./network-malicious.js";
import { waitFor } from "./wait.js";

export type GossipAttacker = Libp2p<{ pubsub: GossipSub }>;

/**
 * A plain-libp2p gossip attacker (network-malicious.ts) connected to `node` and meshed with it on
 * `topic`: its next publish reaches the node's validator.
 */
export async function gossipAttacker(node: QuarryNode, topic: string): Promise<GossipAttacker> {
  const client = await createMaliciousClient();
  client.services.pubsub.subscribe(topic);
  await client.dial(multiaddr(node.host.multiaddrs()[0]!));
  await waitFor(
    () =>
      client.services.pubsub.getSubscribers(topic).some((p) => p.toString() === node.host.peerId) &&
      node.host.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.equals(client.peerId)),
    10_000,
    "attacker meshed on the topic",
  );
  return client;
}

/** The header with the first nonce whose hash misses its target (regtest: about every second one). */
export function withoutWork(header: BlockHeader): BlockHeader {
  const target = compactToTarget(header.bits).target;
  for (let nonce = header.nonce + 1n; ; nonce++) {
    const candidate = { ...header, nonce };
    if (hashToBigInt(headerHash(candidate)) > target) return candidate;
  }
}

/** Writes `bytes` raw (no framing added) on a new stream of `protocol` and reads until the peer closes. */
export function rawExchange(
  from: Libp2p,
  to: QuarryNode,
  protocol: string,
  bytes: Uint8Array,
  timeoutMs = 5_000,
): Promise<Uint8Array> {
  return rawExchangeWith(from, [multiaddr(to.host.multiaddrs()[0]!)], protocol, bytes, timeoutMs);
}

/** `rawExchange` towards any libp2p address. */
export async function rawExchangeWith(
  from: Libp2p,
  to: Multiaddr[],
  protocol: string,
  bytes: Uint8Array,
  timeoutMs = 5_000,
): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  const stream = await from.dialProtocol(to, protocol, { signal });
  stream.send(bytes);
  await stream.close({ signal }).catch(() => undefined);
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk.subarray());
  } catch {
    // reset by the server: what it thinks of the request is in its scorer, not in the stream
  }
  return Buffer.concat(chunks);
}

/** An unsigned LEB128 varint (the length prefix of libp2p's length-prefixed frames). */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** The body of the one length-prefixed frame at the start of `bytes` (varint length prefix). */
export function unframe(bytes: Uint8Array): Uint8Array {
  let length = 0;
  let shift = 1;
  let i = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    length += (b & 0x7f) * shift;
    shift *= 128;
    if (b < 0x80) break;
  }
  return bytes.subarray(i + 1, i + 1 + length);
}
