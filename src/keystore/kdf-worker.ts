/**
 * The scrypt worker thread (started by kdf.ts): derives one key at a time on this thread, so the
 * main thread's event loop never waits on a key derivation. The password copy is wiped after use;
 * the key is transferred back, not copied.
 */
import { parentPort } from "node:worker_threads";
import { type KdfWorkerRequest, type KdfWorkerResponse, scryptOnThisThread } from "./kdf.js";

const port = parentPort;
if (!port) throw new Error("kdf-worker.ts must run in a worker thread");

port.on("message", ({ id, params, password }: KdfWorkerRequest) => {
  let response: KdfWorkerResponse;
  const transfer: ArrayBuffer[] = [];
  try {
    // The derived bytes may sit in a shared Buffer pool: send a copy of its own, wipe the original.
    const derived = scryptOnThisThread(params, password);
    const key = Uint8Array.from(derived);
    derived.fill(0);
    response = { id, key };
    transfer.push(key.buffer);
  } catch (err) {
    const code = err instanceof Error && "code" in err ? String(err.code) : undefined;
    response = { id, error: { message: err instanceof Error ? err.message : String(err), code } };
  } finally {
    password.fill(0);
  }
  port.postMessage(response, transfer);
});
