import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MaintenanceErrorCode } from "../../../src/maintenance/index.js";
import {
  checksumFiles,
  MANIFEST_FILE,
  readManifest,
  verifyFiles,
} from "../../../src/maintenance/manifest.js";
import { tempDir } from "../../helpers/temp-dir.js";

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function backupDir(): string {
  const d = tempDir("quarry-manifest-");
  dirs.push(d);
  mkdirSync(join(d.path, "chain"));
  writeFileSync(join(d.path, "chain", "CURRENT"), "MANIFEST-000001\n");
  writeFileSync(join(d.path, "node-key"), "key");
  return d.path;
}

function manifest(files: unknown) {
  return {
    format: "quarry-backup/1",
    network: "regtest",
    genesis: "00".repeat(32),
    tip: { hash: "11".repeat(32), height: 1 },
    createdAt: "2026-12-04T00:00:00.000Z",
    files,
  };
}

describe("backup manifest", () => {
  it("lists every file with size and SHA-256, sorted, without the manifest itself", async () => {
    const dir = backupDir();
    writeFileSync(join(dir, MANIFEST_FILE), "{}");
    const files = await checksumFiles(dir);
    expect(files.map((f) => f.path)).toEqual(["chain/CURRENT", "node-key"]);
    expect(files[1]).toEqual({
      path: "node-key",
      bytes: 3,
      sha256: "2c70e12b7a0646f92279f427c7b38e7334d8e5389cff167a1dc30e73f826b683",
    });
  });

  it("BACKUP_NO_MANIFEST: a directory without a manifest", async () => {
    await expect(readManifest(backupDir())).rejects.toMatchObject({ code: MaintenanceErrorCode.NO_MANIFEST });
  });

  it.each([
    ["not JSON", "{"],
    ["another format", JSON.stringify({ ...manifest([]), format: "other/1" })],
    [
      "a path climbing out of the backup",
      JSON.stringify(manifest([{ path: "../x", bytes: 1, sha256: "aa" }])),
    ],
    ["an absolute path", JSON.stringify(manifest([{ path: "/etc/passwd", bytes: 1, sha256: "aa" }]))],
    [
      "a height that is not an integer",
      JSON.stringify({ ...manifest([]), tip: { hash: "aa", height: "1" } }),
    ],
  ])("BACKUP_BAD_MANIFEST: %s", async (_what, text) => {
    const dir = backupDir();
    writeFileSync(join(dir, MANIFEST_FILE), text);
    await expect(readManifest(dir)).rejects.toMatchObject({ code: MaintenanceErrorCode.BAD_MANIFEST });
  });

  it("BACKUP_CHECKSUM_MISMATCH: a changed, a missing and an unlisted file; the untouched copy verifies", async () => {
    const dir = backupDir();
    const files = await checksumFiles(dir);
    await expect(verifyFiles(dir, files)).resolves.toBeUndefined();
    const code = { code: MaintenanceErrorCode.CHECKSUM_MISMATCH };

    writeFileSync(join(dir, "node-key"), "kez");
    await expect(verifyFiles(dir, files)).rejects.toMatchObject(code);
    writeFileSync(join(dir, "node-key"), "key");

    await expect(verifyFiles(dir, [...files, { path: "gone", bytes: 0, sha256: "" }])).rejects.toMatchObject(
      code,
    );

    writeFileSync(join(dir, "chain", "extra"), "");
    await expect(verifyFiles(dir, files)).rejects.toMatchObject(code);
  });
});
