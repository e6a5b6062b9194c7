import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it } from "vitest";
import { copyLevelDatabase } from "../../../src/util/level-copy.js";
import { tempDir } from "../../helpers/temp-dir.js";

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function open(location: string) {
  return new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: "view", valueEncoding: "view" });
}

const key = (i: number) => {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, i);
  return k;
};

describe("copyLevelDatabase", () => {
  it("copies one snapshot: writes and deletes made during the copy are not in it", async () => {
    const d = tempDir("quarry-level-copy-");
    dirs.push(d);
    const source = open(join(d.path, "source"));
    await source.open();
    const batch = source.batch();
    for (let i = 0; i < 5000; i++) batch.put(key(i), new Uint8Array(100).fill(i & 0xff));
    await batch.write();

    const writes: Promise<void>[] = [];
    const report = await copyLevelDatabase(source, join(d.path, "copy"), (k) => {
      // At the first entry copied, change the source: a new key past the end, a deleted one ahead.
      if (new DataView(k.buffer, k.byteOffset).getUint32(0) === 0) {
        writes.push(source.put(key(99_999), Uint8Array.of(1)));
        writes.push(source.del(key(4000)));
      }
    });
    await Promise.all(writes);
    expect([...((await source.get(key(99_999))) ?? [])]).toEqual([1]);
    await source.close();

    expect(report.entries).toBe(5000);
    const copy = open(join(d.path, "copy"));
    await copy.open();
    try {
      expect(await copy.get(key(99_999))).toBeUndefined();
      expect([...((await copy.get(key(4000))) ?? [])]).toEqual(new Array(100).fill(4000 & 0xff));
      expect((await copy.keys().all()).length).toBe(5000);
    } finally {
      await copy.close();
    }
  });

  it("refuses to copy into an existing database", async () => {
    const d = tempDir("quarry-level-copy-");
    dirs.push(d);
    const source = open(join(d.path, "source"));
    await source.open();
    await source.put(key(1), key(1));
    await copyLevelDatabase(source, join(d.path, "copy"));
    await expect(copyLevelDatabase(source, join(d.path, "copy"))).rejects.toThrow();
    await source.close();
  });
});
