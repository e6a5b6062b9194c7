import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { describe, expect, it } from "vitest";
import type { StatusMessage } from "../../../src/sync/codec.js";
import { PeerSet } from "../../../src/sync/peer-set.js";

function status(height: number): StatusMessage {
  return {
    network: "regtest",
    genesisHash: new Uint8Array(32),
    tipHash: new Uint8Array(32).fill(height % 256),
    height,
    chainWork: BigInt(height),
  };
}

describe("PeerSet", () => {
  it("a new status updates the known peer in place, so downloads in flight release their request slots", async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const peers = new PeerSet();
    const first = peers.set(peerId, status(10));
    first.inFlight = 2; // two downloads hold `first`
    const second = peers.set(peerId, status(500));
    expect(second).toBe(first);
    expect(second.status.height).toBe(500);
    first.inFlight -= 2; // both finish
    expect(peers.pick(200, 2, new Set(), 0)?.id).toBe(peerId.toString());
  });
});
