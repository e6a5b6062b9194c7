import {
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  TRANSFER_SIZE,
  TX_SIGNING_DOMAIN,
  TxType,
  verifySignature,
} from "../primitives/index.js";

/**
 * The pure part of signature verification, and the messages to and from its worker: all the
 * signature worker (signature-worker.ts) imports, so a worker loads no pool, cache or logger code.
 */

// Offsets inside a transfer encoding (see primitives/transaction.ts).
const PUBLIC_KEY_OFFSET = 5;
const SIGNATURE_OFFSET = TRANSFER_SIZE - SIGNATURE_LENGTH;

/**
 * Verifies `count` transfer encodings laid end to end in `encodings` (145 bytes each) and returns
 * one byte per transfer: 1 when its signature is valid (strict RFC 8032), else 0. Pure; this is
 * what a worker runs on each chunk, and what the inline mode runs on the main thread.
 */
export function verifyEncodedTransfers(encodings: Uint8Array, count: number): Uint8Array<ArrayBuffer> {
  if (!(encodings instanceof Uint8Array)) throw new TypeError("encodings must be a Uint8Array");
  if (!Number.isInteger(count) || count < 0 || encodings.length !== count * TRANSFER_SIZE) {
    throw new RangeError(`encodings must hold exactly ${count} transfers of ${TRANSFER_SIZE} bytes`);
  }
  const results = new Uint8Array(count);
  // One message buffer reused for every item: the domain prefix never changes.
  const message = new Uint8Array(TX_SIGNING_DOMAIN.length + SIGNATURE_OFFSET);
  message.set(TX_SIGNING_DOMAIN, 0);
  for (let i = 0; i < count; i++) {
    const base = i * TRANSFER_SIZE;
    // Anything but a transfer in the slot cannot carry a valid signature.
    if (encodings[base] !== TxType.Transfer) continue;
    message.set(encodings.subarray(base, base + SIGNATURE_OFFSET), TX_SIGNING_DOMAIN.length);
    const publicKey = encodings.subarray(
      base + PUBLIC_KEY_OFFSET,
      base + PUBLIC_KEY_OFFSET + PUBLIC_KEY_LENGTH,
    );
    const signature = encodings.subarray(base + SIGNATURE_OFFSET, base + TRANSFER_SIZE);
    results[i] = verifySignature(publicKey, message, signature) ? 1 : 0;
  }
  return results;
}

/** Main thread -> worker. */
export type SignatureWorkerRequest = {
  type: "verify";
  chunkId: number;
  count: number;
  encodings: ArrayBuffer;
};

/** Worker -> main thread. */
export type SignatureWorkerResponse =
  | { type: "ready" }
  | { type: "result"; chunkId: number; results: ArrayBuffer };
