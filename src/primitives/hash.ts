import { createHash } from "node:crypto";

/** SHA-256 through node:crypto (SHA-NI accelerated on these machines). */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** SHA-256d: block ids, transaction ids and PoW. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}
