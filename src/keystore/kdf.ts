import { pbkdf2 as nodePbkdf2, scryptSync as nodeScryptSync } from "node:crypto";
import { scrypt as nobleScrypt } from "@noble/hashes/scrypt.js";
import { WorkerPool, workerScriptUrl } from "../util/index.js";

/**
 * Key derivation for Web3 Secret Storage. Neither KDF runs on the event loop: pbkdf2 runs on the
 * libuv thread pool; scrypt — ~1 s and 256 MiB at the default cost — runs entirely on a worker
 * thread (kdf-worker.ts), started on demand and stopped after {@link KDF_WORKER_IDLE_MS} idle. When
 * OpenSSL refuses scrypt parameters (it enforces RFC 7914's N < 2^(128·r/8), which go-ethereum's
 * own published vector r=1, N=2^18, p=8 breaks) the worker falls back to @noble/hashes' scrypt.
 */

export interface ScryptParams {
  kdf: "scrypt";
  n: number;
  r: number;
  p: number;
  dklen: number;
  salt: Uint8Array;
}

export interface Pbkdf2Params {
  kdf: "pbkdf2";
  c: number;
  prf: "hmac-sha256";
  dklen: number;
  salt: Uint8Array;
}

export type KdfParams = ScryptParams | Pbkdf2Params;

/** The default cost, as go-ethereum's "standard" scrypt: ~1 s and 256 MiB per unlock here. */
export const SCRYPT_DEFAULT = Object.freeze({ n: 1 << 18, r: 8, p: 1 });
/** `--light`: N=2^12 (4 MiB, ~20 ms; go-ethereum's light N, with p=1): tests and small devices. */
export const SCRYPT_LIGHT = Object.freeze({ n: 1 << 12, r: 8, p: 1 });

// Limits on what a file may ask of us: a hostile file must not exhaust memory or CPU.
// 1 GiB covers every standard setting (geth standard 256 MiB; N=2^18,r=1,p=8 is 32 MiB).
export const SCRYPT_MAX_MEMORY_BYTES = 1024 * 1024 * 1024;
export const SCRYPT_MAX_WORK = 2 ** 24; // N·r·p; geth standard is 2^21
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
export const DKLEN_MIN = 32;
export const DKLEN_MAX = 64;

/** How long the scrypt worker lingers after its last derivation (a create derives twice in a row). */
export const KDF_WORKER_IDLE_MS = 2_000;

/** Memory OpenSSL's scrypt needs (B plus V, see crypto/evp/pbe_scrypt.c), with slack. */
export function scryptMemoryBytes(n: number, r: number, p: number): number {
  return 128 * r * (n + p + 2) + 4096;
}

/** Derives the key; `password` is the caller's buffer (the caller wipes it). */
export async function deriveKey(params: KdfParams, password: Uint8Array): Promise<Uint8Array> {
  if (params.kdf === "pbkdf2") {
    return new Promise((resolve, reject) => {
      nodePbkdf2(password, params.salt, params.c, params.dklen, "sha256", (err, key) =>
        err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
      );
    });
  }
  return scryptWorker.derive(params, password);
}

/**
 * scrypt on the calling thread (the worker's): node:crypto, or @noble/hashes for parameters
 * OpenSSL refuses.
 */
export function scryptOnThisThread(params: ScryptParams, password: Uint8Array): Uint8Array {
  const { n: N, r, p, dklen, salt } = params;
  const maxmem = scryptMemoryBytes(N, r, p);
  try {
    const key = nodeScryptSync(password, salt, dklen, { N, r, p, maxmem });
    return new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
  } catch (err) {
    if (!isRefusedParams(err)) throw err;
    return nobleScrypt(password, salt, { N, r, p, dkLen: dklen, maxmem: maxmem + 1024 * 1024 });
  }
}

function isRefusedParams(err: unknown): boolean {
  return err instanceof Error && "code" in err && err.code === "ERR_CRYPTO_INVALID_SCRYPT_PARAMS";
}

/** Main thread → scrypt worker: derive with `params` (the password is a copy, wiped by the worker). */
export interface KdfWorkerRequest {
  id: number;
  params: ScryptParams;
  password: Uint8Array;
}

/** Scrypt worker → main thread: the derived key (transferred), or the error's message and code. */
export type KdfWorkerResponse =
  | { id: number; key: Uint8Array }
  | { id: number; error: { message: string; code: string | undefined } };

interface Pending {
  resolve(key: Uint8Array): void;
  reject(err: Error): void;
}

/**
 * The one scrypt worker thread of this process: spawned by the first derivation, kept while
 * derivations are pending, terminated {@link KDF_WORKER_IDLE_MS} after the last one. It never keeps
 * the process alive on its own (an idle worker is unref'd). Derivations queue on it one at a time.
 */
class ScryptWorker {
  private workers: WorkerPool<undefined, KdfWorkerRequest, KdfWorkerResponse> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  derive(params: ScryptParams, password: Uint8Array): Promise<Uint8Array> {
    clearTimeout(this.idleTimer);
    const workers = this.ensureWorker();
    const slot = workers.slots[0]!;
    slot.worker.ref();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      workers.post(slot, { id, params, password: Uint8Array.from(password) });
    });
  }

  private ensureWorker(): WorkerPool<undefined, KdfWorkerRequest, KdfWorkerResponse> {
    if (this.workers && this.workers.slots.length > 0) return this.workers;
    const workers = new WorkerPool<undefined, KdfWorkerRequest, KdfWorkerResponse>(
      { url: kdfWorkerUrl(), name: "quarry-kdf", threads: 1, createState: () => undefined },
      {
        message: (_slot, msg) => this.onMessage(msg),
        exit: (slot, { exitCode, error, owned }) => {
          if (!owned) return;
          workers.drop(slot);
          this.failAll(error ?? new Error(`scrypt worker exited with code ${exitCode}`));
        },
      },
    );
    workers.fill();
    this.workers = workers;
    return workers;
  }

  private onMessage(msg: KdfWorkerResponse): void {
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    this.pending.delete(msg.id);
    if ("key" in msg) pending.resolve(msg.key);
    else pending.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
    if (this.pending.size === 0) this.idle();
  }

  private idle(): void {
    const workers = this.workers;
    for (const slot of workers?.slots ?? []) slot.worker.unref();
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) void workers?.terminateAll();
    }, KDF_WORKER_IDLE_MS);
    this.idleTimer.unref();
  }

  private failAll(err: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}

const scryptWorker = new ScryptWorker();

/**
 * The compiled worker script (util/worker-pool.ts, workerScriptUrl: from TypeScript sources, the
 * copy in dist/, which `npm test` builds first).
 */
function kdfWorkerUrl(): URL {
  return workerScriptUrl(import.meta.url, "kdf-worker.js");
}
