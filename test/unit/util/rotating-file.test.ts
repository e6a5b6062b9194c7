import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileLogger } from "../../../src/util/logger.js";
import { RotatingFileStream } from "../../../src/util/rotating-file.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("RotatingFileStream (real files)", () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  beforeEach(() => {
    dir = tempDir("quarry-rotate-");
    path = join(dir.path, "quarry.log");
  });
  afterEach(() => dir.cleanup());

  const line = (i: number) => `${JSON.stringify({ i, pad: "x".repeat(80) })}\n`; // 100 bytes
  const lines = (file: string) =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { i: number }).i);

  it("rotates by size: never over maxBytes, whole lines, newest in PATH, older in PATH.1..PATH.keep", () => {
    const stream = new RotatingFileStream({ path, maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 45; i++) stream.write(line(i));
    stream.close();
    expect(readdirSync(dir.path).sort()).toEqual(["quarry.log", "quarry.log.1", "quarry.log.2"]);
    for (const f of ["quarry.log", "quarry.log.1", "quarry.log.2"]) {
      expect(statSync(join(dir.path, f)).size).toBeLessThanOrEqual(1000);
    }
    // 10 lines per file: 0-9, 10-19 deleted (keep 2), 20-29 in .2, 30-39 in .1, 40-44 current
    expect(lines(`${path}.2`)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(lines(`${path}.1`)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    expect(lines(path)).toEqual([40, 41, 42, 43, 44]);
  });

  it("appends to an existing file and counts its size", () => {
    writeFileSync(path, line(-1).repeat(9));
    const stream = new RotatingFileStream({ path, maxBytes: 1000, keep: 1 });
    stream.write(line(0));
    stream.write(line(1));
    stream.close();
    expect(lines(`${path}.1`)).toEqual([-1, -1, -1, -1, -1, -1, -1, -1, -1, 0]);
    expect(lines(path)).toEqual([1]);
  });

  it("keep 0: the old file is dropped, no PATH.1", () => {
    const stream = new RotatingFileStream({ path, maxBytes: 250, keep: 0 });
    for (let i = 0; i < 5; i++) stream.write(line(i));
    stream.close();
    expect(readdirSync(dir.path)).toEqual(["quarry.log"]);
    expect(lines(path)).toEqual([4]);
  });

  it("a line longer than maxBytes gets a file of its own (never split)", () => {
    const stream = new RotatingFileStream({ path, maxBytes: 50, keep: 3 });
    stream.write(line(0));
    stream.write(line(1));
    stream.close();
    expect(lines(`${path}.1`)).toEqual([0]);
    expect(lines(path)).toEqual([1]);
  });

  it("cannot open the file: throws the fs error (ENOENT for a missing folder)", () => {
    expect(
      () => new RotatingFileStream({ path: join(dir.path, "no", "x.log"), maxBytes: 1000, keep: 1 }),
    ).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it("a write that fails is reported once and never throws (logging cannot stop the node)", () => {
    const reports: string[] = [];
    const stream = new RotatingFileStream({ path, maxBytes: 150, keep: 1 }, (m) => reports.push(m));
    stream.write(line(0));
    dir.cleanup(); // the folder disappears: the rotation's rename and the reopen fail
    expect(() => {
      for (let i = 1; i < 5; i++) stream.write(line(i));
    }).not.toThrow();
    stream.close();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain(path);
  });

  it("createFileLogger writes the node's JSON lines through it, rotating", () => {
    const log = createFileLogger("info", { path, maxBytes: 2048, keep: 3 });
    for (let height = 0; height < 100; height++) log.info({ height }, "imported block");
    const files = readdirSync(dir.path).sort();
    expect(files).toEqual(["quarry.log", "quarry.log.1", "quarry.log.2", "quarry.log.3"]);
    const newest = readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { height: number; msg: string });
    expect(newest.at(-1)).toMatchObject({ height: 99, msg: "imported block" });
  });
});
