import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { genesisBlock } from "../../src/consensus/genesis.js";
import type { NetworkParams } from "../../src/consensus/params.js";
import { workFromBits } from "../../src/consensus/pow.js";
import { type Block, blockHash, encodeBlock } from "../../src/primitives/block.js";
import { toHex } from "../../src/primitives/bytes.js";
import { signBatch } from "../../src/sync/batch.js";
import {
  type BatchRequest,
  decodeBlocksByHashRequest,
  decodeBlocksByRangeRequest,
  decodeHeadersRequest,
  decodeLocatorRequest,
  encodeHeadersResponse,
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

export interface MaliciousPeerOptions {
  /**
   * the work its status claims; default: the real work of its chain (so headers-first sync gets
   * past the headers and judges the bodies), 2^200 for "serves-nothing"
   */
  claimedWork?: bigint;
  /** batch requests wait for this before they are answered (a slow body server) */
  bodiesGate?: Promise<void>;
  /** headers requests wait for this before they are answered */
  headersGate?: Promise<void>;
  /** its headers answers name a fork point nobody holds (32 bytes of 0xab) at the real height */
  foreignForkPoint?: boolean;
}

/** What a malicious peer was asked, by protocol id. */
export type ServedCounts = Map<string, number>;

/**
 * A peer built on plain libp2p that speaks the sync protocols about a chain of its choosing
 * (`blocks`, heights 1..n, any validity: its headers and batches hold them as they are). With
 * "forged-signature" its batches carry its own public key but a signature by another key. With
 * "serves-nothing" it claims `CLAIMED_HEIGHT` and answers no locator, headers or batch request at
 * all (each one hangs until the asker's deadline). `served` counts the requests that reached it.
 */
export async function createMaliciousPeer(
  params: NetworkParams,
  blocks: readonly Block[],
  how: Misbehaviour,
  opts: MaliciousPeerOptions = {},
): Promise<TestLibp2p & { served: ServedCounts }> {
  const net = await createTestLibp2p();
  const forger: PrivateKey = await generateKeyPair("Ed25519");
  const ids = syncProtocolIds(params.name);
  const chain = [genesisBlock(params), ...blocks];
  const hashes = chain.map((b) => blockHash(b));
  const hexes = hashes.map(toHex);
  const realWork = chain.reduce((sum, b) => sum + workFromBits(b.header.bits), 0n);
  const claimedWork = opts.claimedWork ?? (how === "serves-nothing" ? 1n << 200n : realWork);
  const served: ServedCounts = new Map();
  const forkOf = (locator: readonly Uint8Array[]) =>
    Math.max(0, ...locator.map((h) => hexes.indexOf(toHex(h))));

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
          chainWork: claimedWork,
        }),
    ],
    [
      ids.locator,
      async (request) => {
        const req = decodeLocatorRequest(request);
        const fork = forkOf(req.locator);
        return encodeLocatorResponse({
          forkHeight: fork,
          forkHash: hashes[fork]!,
          hashes: hashes.slice(fork + 1, fork + 1 + req.maxHashes),
        });
      },
    ],
    [
      ids.headers,
      async (request) => {
        await opts.headersGate;
        const req = decodeHeadersRequest(request);
        const fork = forkOf(req.locator);
        return encodeHeadersResponse({
          forkHeight: fork,
          forkHash: opts.foreignForkPoint ? new Uint8Array(32).fill(0xab) : hashes[fork]!,
          headers: chain.slice(fork + 1, fork + 1 + Math.min(req.maxHashes, 2048)).map((b) => b.header),
        });
      },
    ],
    [
      ids.blocksByRange,
      async (request) => {
        await opts.bodiesGate;
        const req = decodeBlocksByRangeRequest(request);
        return batch({ kind: "range", ...req }, req.startHeight, req.startHeight + Math.min(req.count, 64));
      },
    ],
    [
      ids.blocksByHash,
      async (request) => {
        await opts.bodiesGate;
        const req = decodeBlocksByHashRequest(request);
        const first = hexes.indexOf(toHex(req.hashes[0]!));
        return batch({ kind: "hashes", hashes: req.hashes }, first, first + req.hashes.length);
      },
    ],
  ];
  const hang: RequestHandler = () => new Promise<Uint8Array>(() => undefined);
  for (const [protocol, handler] of handlers) {
    const counted: RequestHandler = (request, peer, options) => {
      served.set(protocol, (served.get(protocol) ?? 0) + 1);
      return (how === "serves-nothing" && protocol !== ids.status ? hang : handler)(request, peer, options);
    };
    await net.libp2p.handle(
      protocol,
      serveProtocol(counted, {
        timeoutMs: 5000,
        maxRequestBytes: MAX_REQUEST_FRAME,
      }),
    );
  }
  return Object.assign(net, { served });
}
