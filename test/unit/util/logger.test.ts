import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/util/logger.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("createLogger", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir("quarry-logger-");
  });
  afterEach(() => dir.cleanup());

  function logTo(format: "auto" | "json" | "pretty"): string {
    const path = join(dir.path, `${format}.log`);
    const fd = openSync(path, "w");
    try {
      createLogger("info", fd, format).info({ height: 7 }, "imported block");
    } finally {
      closeSync(fd);
    }
    return readFileSync(path, "utf8");
  }

  it("auto: JSON lines when the destination is not a terminal (a file, a pipe)", () => {
    const line = JSON.parse(logTo("auto").trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, height: 7, msg: "imported block" });
    expect(typeof line.time).toBe("string");
  });

  it("pretty: one human-readable line per record, with the fields", () => {
    const text = logTo("pretty");
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toContain("INFO");
    expect(text).toContain("imported block");
    expect(text).toMatch(/height.*7/);
  });
});
