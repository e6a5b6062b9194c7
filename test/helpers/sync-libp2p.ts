import { noise } from "@chainsafe/libp2p-noise";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import { quarryYamux } from "../../src/network/yamux-window.js";

export interface TestLibp2p {
  libp2p: Libp2p;
  privateKey: PrivateKey;
}

/**
 * A minimal libp2p 3 node for sync tests: TCP on 127.0.0.1 (random port), Noise, Yamux,
 * identify, ping, an Ed25519 identity. Not the real host (src/network): no DHT, no gossip.
 */
export async function createTestLibp2p(): Promise<TestLibp2p> {
  const privateKey = await generateKeyPair("Ed25519");
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [quarryYamux()],
    services: { identify: identify(), ping: ping() },
  });
  return { libp2p, privateKey };
}

/** Dials `b` from `a` and resolves once the connection is up. */
export async function connect(a: Libp2p, b: Libp2p): Promise<void> {
  await a.dial(b.getMultiaddrs());
}

export type { PeerId };
