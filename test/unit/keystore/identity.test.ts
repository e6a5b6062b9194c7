import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  defaultNodeIdentityDeps,
  KeystoreErrorCode,
  loadOrCreateNodeIdentity,
  NODE_KEY_FILE,
} from "../../../src/keystore/index.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("loadOrCreateNodeIdentity", () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir("quarry-id-");
  });
  afterEach(() => dir.cleanup());

  it("creates <datadir>/node-key once (0600, Ed25519) and reuses it: stable peer id", async () => {
    const datadir = join(dir.path, "data");
    const first = await loadOrCreateNodeIdentity(datadir);
    expect(first.created).toBe(true);
    expect(first.privateKey.type).toBe("Ed25519");
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(statSync(datadir).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateNodeIdentity(datadir);
    expect(second.created).toBe(false);
    expect(second.peerId.toString()).toBe(first.peerId.toString());
    expect(privateKeyFromProtobuf(readFileSync(first.path)).equals(first.privateKey)).toBe(true);
  });

  it("two concurrent first starts agree on one identity", async () => {
    const [a, b] = await Promise.all([
      loadOrCreateNodeIdentity(dir.path),
      loadOrCreateNodeIdentity(dir.path),
    ]);
    expect(a.peerId.toString()).toBe(b.peerId.toString());
    expect(readdirSync(dir.path)).toEqual([NODE_KEY_FILE]);
  });

  it("NODE_KEY_MALFORMED names the file when it is corrupted, and does not replace it", async () => {
    const path = join(dir.path, NODE_KEY_FILE);
    writeFileSync(path, "garbage");
    await expect(loadOrCreateNodeIdentity(dir.path)).rejects.toMatchObject({
      code: KeystoreErrorCode.NODE_KEY_MALFORMED,
      message: expect.stringContaining(path),
    });
    expect(readFileSync(path, "utf8")).toBe("garbage");
  });

  it("a crash before the commit leaves no node-key behind (the next start creates one)", async () => {
    await expect(
      loadOrCreateNodeIdentity(dir.path, {
        ...defaultNodeIdentityDeps,
        atomic: {
          ...defaultNodeIdentityDeps.atomic,
          link: async () => {
            throw new Error("simulated crash before link");
          },
        },
      }),
    ).rejects.toThrow(/simulated crash/);
    expect(readdirSync(dir.path)).toEqual([]);
    expect((await loadOrCreateNodeIdentity(dir.path)).created).toBe(true);
  });
});
