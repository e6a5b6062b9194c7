import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { link, rename } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AtomicWriteDeps, writeFileAtomic } from "../../../src/keystore/index.js";
import { tempDir } from "../../helpers/temp-dir.js";

/** Commit steps that fail the way a crash just before the rename/link would leave things. */
const crashBeforeCommit: AtomicWriteDeps = {
  rename: async () => {
    throw new Error("simulated crash before rename");
  },
  link: async () => {
    throw new Error("simulated crash before link");
  },
};

describe("writeFileAtomic", () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir("quarry-atomic-");
  });
  afterEach(() => dir.cleanup());

  it("creates a file with mode 0600 and leaves no temp file", async () => {
    const path = join(dir.path, "a.json");
    await writeFileAtomic({ path, data: "hello", mode: 0o600, overwrite: false });
    expect(readFileSync(path, "utf8")).toBe("hello");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir.path)).toEqual(["a.json"]);
  });

  it("never overwrites when overwrite is false: EEXIST, old content kept", async () => {
    const path = join(dir.path, "a.json");
    writeFileSync(path, "old");
    await expect(writeFileAtomic({ path, data: "new", mode: 0o600, overwrite: false })).rejects.toMatchObject(
      {
        code: "EEXIST",
      },
    );
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir.path)).toEqual(["a.json"]);
  });

  it("replaces when overwrite is true", async () => {
    const path = join(dir.path, "a.json");
    writeFileSync(path, "old");
    await writeFileAtomic({ path, data: "new", mode: 0o600, overwrite: true });
    expect(readFileSync(path, "utf8")).toBe("new");
  });

  it.each([true, false])(
    "a failure before the commit (overwrite=%s) leaves the previous file intact",
    async (overwrite) => {
      const path = join(dir.path, "a.json");
      writeFileSync(path, "old", { mode: 0o600 });
      const target = overwrite ? path : join(dir.path, "b.json");
      await expect(
        writeFileAtomic({ path: target, data: "new", mode: 0o600, overwrite }, crashBeforeCommit),
      ).rejects.toThrow(/simulated crash/);
      expect(readFileSync(path, "utf8")).toBe("old");
      expect(readdirSync(dir.path)).toEqual(["a.json"]);
    },
  );

  it("a failing verify aborts before the commit", async () => {
    const path = join(dir.path, "a.json");
    writeFileSync(path, "old");
    let seen = "";
    await expect(
      writeFileAtomic({
        path,
        data: "new",
        mode: 0o600,
        overwrite: true,
        verify: (bytes) => {
          seen = Buffer.from(bytes).toString("utf8");
          throw new Error("verify failed");
        },
      }),
    ).rejects.toThrow("verify failed");
    expect(seen).toBe("new");
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir.path)).toEqual(["a.json"]);
  });

  it("the injected commit steps are what the real ones do", async () => {
    const path = join(dir.path, "a.json");
    const calls: string[] = [];
    const deps: AtomicWriteDeps = {
      rename: (a, b) => {
        calls.push("rename");
        return rename(a, b);
      },
      link: (a, b) => {
        calls.push("link");
        return link(a, b);
      },
    };
    await writeFileAtomic({ path, data: "1", mode: 0o600, overwrite: false }, deps);
    await writeFileAtomic({ path, data: "2", mode: 0o600, overwrite: true }, deps);
    expect(calls).toEqual(["link", "rename"]);
    expect(readFileSync(path, "utf8")).toBe("2");
  });
});
