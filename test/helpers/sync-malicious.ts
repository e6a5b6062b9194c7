import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { genesisBlock } from "../../src/consensus/genesis.js";
import type { NetworkParams } from "../../src/consensus/params.js";
import { type Block, blockHash, encodeBlock } from "../../src/primitives/block.js";
import { toHex } from "../../src/primitives/bytes.js";
import { signBatch } from "../../src/sync/batch.js";
import {
  type BatchRequest,
  decodeBlocksByHashRequest,
  decodeBlocksByRangeRequest,
  decodeLocatorRequest,
  encodeLocatorResponse,
  encodeSignedBatch,
  encodeStatus,
  MAX_REQUEST_FRAME,
} from "../../src/sync/codec.js";
import { syncProtocolIds } from "../../src/sync/protocols/ids.js";
import { type RequestHandler, serveProtocol } from "../../src/sync/reqresp.js";
import { createTestLibp2p, type TestLibp2p } from "./sync-libp2p.js";

export type Misbehaviour = "forged-signature" | "invalid-blocks" | "serves-nothing";

/** The height a "serves-nothing" peer claims (its work claim is 2^200). */
export const CLAIMED_HEIGHT = 5_000_000;

/**
 * A peer built on plain libp2p that speaks the sync protocols about a chain of its choosing
 * (`blocks`, heights 1..n, any validity) and claims far more work than anyone. With
 * "forged-signature" its batches carry its own public key but a signature by another key. With
 * "serves-nothing" it claims `CLAIMED_HEIGHT` and answers no locator or batch request at all
 * (each one hangs until the asker's deadline).
 */
export async function createMaliciousPeer(
  params: NetworkParams,
  blocks: readonly Block[],
  how: Misbehaviour,
): Promise<TestLibp2p> {
  const net = await createTestLibp2p();
  const forger: PrivateKey = await generateKeyPair("Ed25519");
  const ids = syncProtocolIds(params.name);
  const chain = [genesisBlock(params), ...blocks];
  const hashes = chain.map((b) => blockHash(b));
  const hexes = hashes.map(toHex);

  const batch = async (request: BatchRequest, from: number, to: number) => {
    const slice = chain.slice(from, to);
    const signer = how === "forged-signature" ? forger : net.privateKey;
    const signed = await signBatch(
      signer,
      params.networkId,
      request,
      slice.map(encodeBlock),
      hashes.slice(from, to),
    );
    return encodeSignedBatch({ ...signed, signer: net.privateKey.publicKey.raw });
  };
  const handlers: [string, RequestHandler][] = [
    [
      ids.status,
      async () =>
        encodeStatus({
          network: params.name,
          genesisHash: hashes[0]!,
          tipHash: hashes[hashes.length - 1]!,
          height: how === "serves-nothing" ? CLAIMED_HEIGHT : chain.length - 1,
          chainWork: 1n << 200n,
        }),
    ],
    [
      ids.locator,
      async (request) => {
        const req = decodeLocatorRequest(request);
        const fork = Math.max(0, ...req.locator.map((h) => hexes.indexOf(toHex(h))));
        return encodeLocatorResponse({
          forkHeight: fork,
          forkHash: hashes[fork]!,
          hashes: hashes.slice(fork + 1, fork + 1 + req.maxHashes),
        });
      },
    ],
    [
      ids.blocksByRange,
      async (request) => {
        const req = decodeBlocksByRangeRequest(request);
        return batch({ kind: "range", ...req }, req.startHeight, req.startHeight + Math.min(req.count, 64));
      },
    ],
    [
      ids.blocksByHash,
      async (request) => {
        const req = decodeBlocksByHashRequest(request);
        const first = hexes.indexOf(toHex(req.hashes[0]!));
        return batch({ kind: "hashes", hashes: req.hashes }, first, first + req.hashes.length);
      },
    ],
  ];
  const hang: RequestHandler = () => new Promise<Uint8Array>(() => undefined);
  for (const [protocol, handler] of handlers) {
    await net.libp2p.handle(
      protocol,
      serveProtocol(how === "serves-nothing" && protocol !== ids.status ? hang : handler, {
        timeoutMs: 5000,
        maxRequestBytes: MAX_REQUEST_FRAME,
      }),
    );
  }
  return net;
}
