import { createHash } from "node:crypto";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";

/**
 * A hostile peer built on plain libp2p, sharing no code with Quarry's host: it speaks the same
 * gossipsub settings (StrictNoSign, content-hash ids) so its messages reach the honest validator.
 */
export async function createMaliciousClient(): Promise<Libp2p<{ pubsub: GossipSub }>> {
  return createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (msg) => createHash("sha256").update(msg.data).digest(),
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
  });
}
