import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { Ed25519PrivateKey, PeerId } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { type AtomicWriteDeps, defaultAtomicWriteDeps, ensureDir, writeFileAtomic } from "../util/index.js";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";

/**
 * The node's libp2p identity: an Ed25519 key in `<datadir>/node-key` (libp2p's protobuf
 * private-key encoding, mode 0600), created once and reused so the peer id survives restarts.
 * It is a transport identity only and holds no funds, so it is not password-protected (as
 * go-ethereum's `nodekey` and Lighthouse's `network/key`).
 */

export const NODE_KEY_FILE = "node-key";
const MAX_NODE_KEY_BYTES = 4096;

export interface NodeIdentity {
  privateKey: Ed25519PrivateKey;
  peerId: PeerId;
  path: string;
  /** true when this call created the key */
  created: boolean;
}

export interface NodeIdentityDeps {
  generate(): Promise<Ed25519PrivateKey>;
  atomic: AtomicWriteDeps;
}

export const defaultNodeIdentityDeps: NodeIdentityDeps = {
  generate: () => generateKeyPair("Ed25519"),
  atomic: defaultAtomicWriteDeps,
};

/** Loads `<datadir>/node-key`, creating it (and the datadir, 0700) when missing. */
export async function loadOrCreateNodeIdentity(
  datadir: string,
  deps: NodeIdentityDeps = defaultNodeIdentityDeps,
): Promise<NodeIdentity> {
  const path = join(datadir, NODE_KEY_FILE);
  const existing = await readNodeKey(path);
  if (existing) return { privateKey: existing, peerId: peerIdFromPrivateKey(existing), path, created: false };

  await ensureDir(datadir, 0o700, false);
  const privateKey = await deps.generate();
  const bytes = privateKeyToProtobuf(privateKey);
  try {
    await writeFileAtomic(
      {
        path,
        data: bytes,
        mode: 0o600,
        overwrite: false,
        verify: (written) => {
          if (!privateKeyFromProtobuf(written).equals(privateKey))
            throw new Error("node key read-back differs");
        },
      },
      deps.atomic,
    );
  } catch (err) {
    // Another process created it first: use theirs, so both agree on one identity.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const winner = await readNodeKey(path);
    if (!winner) throw err;
    return { privateKey: winner, peerId: peerIdFromPrivateKey(winner), path, created: false };
  } finally {
    bytes.fill(0);
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), path, created: true };
}

async function readNodeKey(path: string): Promise<Ed25519PrivateKey | undefined> {
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_NODE_KEY_BYTES) throw malformed(path, "is not a node key file");
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const key = privateKeyFromProtobuf(bytes);
    if (key.type !== "Ed25519") throw malformed(path, `holds a ${key.type} key; Quarry uses Ed25519`);
    return key;
  } catch (err) {
    if (err instanceof KeystoreError) throw err;
    throw malformed(path, "is not a libp2p private key (truncated or corrupted?)");
  } finally {
    bytes.fill(0);
  }
}

function malformed(path: string, what: string): KeystoreError {
  return new KeystoreError(
    { code: KeystoreErrorCode.NODE_KEY_MALFORMED, file: path },
    `node key ${path} ${what}; move it away to create a new identity (the peer id will change)`,
  );
}
