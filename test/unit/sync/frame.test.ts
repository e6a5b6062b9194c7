import { streamPair } from "@libp2p/utils";
import { describe, expect, it } from "vitest";
import { isSyncError, SyncErrorCode } from "../../../src/sync/errors.js";
import {
  byteBudget,
  MAX_VARINT_BYTES,
  readFrame,
  varintLength,
  writeFrame,
} from "../../../src/sync/frame.js";

const signal = () => AbortSignal.timeout(2_000);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isSyncError(err) ? err.type.code : String(err);
  }
  return "resolved";
}

describe("length-prefixed frames (frame.ts)", () => {
  it.each([
    [0, 1],
    [127, 1],
    [128, 2],
    [16_383, 2],
    [16_384, 3],
    [2 ** 53 - 1, 8],
  ])("varintLength(%d) = %d", (n, bytes) => {
    expect(varintLength(n)).toBe(bytes);
  });

  it("round trip: writeFrame then readFrame gives the body back, split across chunks", async () => {
    const [a, b] = await streamPair();
    const body = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    const read = readFrame(b, { maxBytes: 4096, signal: signal() });
    await writeFrame(a, body, signal());
    expect(await read).toEqual(body);
  });

  it("an empty frame decodes", async () => {
    const [a, b] = await streamPair();
    const read = readFrame(b, { maxBytes: 10, signal: signal() });
    await writeFrame(a, new Uint8Array(0), signal());
    expect(await read).toEqual(new Uint8Array(0));
  });

  it("SYNC_OVERSIZED: a continuation byte past the ceiling's prefix length fails at once, before any more bytes", async () => {
    const [a, b] = await streamPair();
    // ceiling 2056: a valid prefix has at most 2 bytes; the third 0xff is proof
    const read = codeOf(readFrame(b, { maxBytes: 2056, signal: signal() }));
    a.send(Uint8Array.from([0xff, 0xff]));
    expect(await read).toBe(SyncErrorCode.OVERSIZED);
  });

  it("SYNC_OVERSIZED: an endless prefix is refused within MAX_VARINT_BYTES even with a huge ceiling", async () => {
    const [a, b] = await streamPair();
    const read = codeOf(readFrame(b, { maxBytes: Number.MAX_SAFE_INTEGER, signal: signal() }));
    a.send(new Uint8Array(MAX_VARINT_BYTES).fill(0xff));
    expect(await read).toBe(SyncErrorCode.OVERSIZED);
  });

  it("SYNC_OVERSIZED: a whole prefix announcing more than the ceiling", async () => {
    const [a, b] = await streamPair();
    const read = codeOf(readFrame(b, { maxBytes: 100, signal: signal() }));
    a.send(Uint8Array.from([101]));
    expect(await read).toBe(SyncErrorCode.OVERSIZED);
  });

  it("SYNC_STREAM_LIMIT: body bytes past the peer's budget; the budget is given back after", async () => {
    const budget = byteBudget(100);
    expect(budget.take("p", 60)).toBe(true);
    const [a, b] = await streamPair();
    const read = codeOf(readFrame(b, { maxBytes: 1000, signal: signal(), budget, peer: "p" }));
    a.send(Uint8Array.from([50, ...new Uint8Array(50)]));
    expect(await read).toBe(SyncErrorCode.STREAM_LIMIT);
    budget.give("p", 60);
    expect(budget.take("p", 100)).toBe(true);
  });

  it("SYNC_STREAM_FAILED: the stream ends inside the frame", async () => {
    const [a, b] = await streamPair();
    const read = codeOf(readFrame(b, { maxBytes: 100, signal: signal() }));
    a.send(Uint8Array.from([10, 1, 2, 3]));
    await a.close();
    expect(await read).toBe(SyncErrorCode.STREAM_FAILED);
  });
});
