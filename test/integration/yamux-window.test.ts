import { createHash, randomBytes } from "node:crypto";
import { YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import type { Stream } from "@libp2p/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestLibp2p, type TestLibp2p } from "../helpers/sync-libp2p.js";
import { waitFor } from "../helpers/wait.js";

const PROTOCOL = "/quarry-test/yamux-window/1";
const KiB = 1024;
/** Yamux frame type 0x1 (spec: "Window Update"); 0x0 is Data. */
const WINDOW_UPDATE = 1;

interface Received {
  /** the handler got yamux's own stream class, the one whose frames are counted */
  isYamuxStream: boolean;
  bytes: number;
  hash: ReturnType<typeof createHash>;
  /** window-update frames the receiving side sent on this stream (each one a socket write) */
  windowUpdates: number;
}

/**
 * Two libp2p hosts over real TCP on 127.0.0.1 with the production muxer (src/network/yamux-window.ts):
 * the receiver of a stream sends a window update once half of its window is used, not one per frame,
 * and a transfer many windows long still completes intact.
 */
describe("yamux window updates (real libp2p over TCP)", () => {
  let sender: TestLibp2p;
  let receiver: TestLibp2p;
  const streams: Received[] = [];

  beforeAll(async () => {
    [sender, receiver] = await Promise.all([createTestLibp2p(), createTestLibp2p()]);
    await receiver.libp2p.handle(PROTOCOL, (stream: Stream) => {
      const received: Received = {
        isYamuxStream: stream instanceof YamuxStream,
        bytes: 0,
        hash: createHash("sha256"),
        windowUpdates: 0,
      };
      streams.push(received);
      // observe the frames this stream sends, then pass them on unchanged
      const yamuxStream = stream as unknown as {
        sendFrame: (header: { type: number }, data?: unknown) => void;
      };
      const sendFrame = yamuxStream.sendFrame;
      yamuxStream.sendFrame = (header, data) => {
        if (header.type === WINDOW_UPDATE) received.windowUpdates++;
        sendFrame(header, data);
      };
      stream.addEventListener("message", (evt) => {
        const chunk = evt.data.subarray();
        received.bytes += chunk.byteLength;
        received.hash.update(chunk);
      });
    });
  }, 20_000);

  afterAll(async () => {
    await Promise.allSettled([sender?.libp2p.stop(), receiver?.libp2p.stop()]);
  });

  /** Sends `chunks` on a new stream, honouring backpressure; resolves with what the receiver saw. */
  async function transfer(chunks: Uint8Array[]): Promise<{ received: Received; sentHash: string }> {
    const index = streams.length; // the receiver's handler may run before dialProtocol resolves
    const stream = await sender.libp2p.dialProtocol(receiver.libp2p.getMultiaddrs(), PROTOCOL);
    const sentHash = createHash("sha256");
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    for (const chunk of chunks) {
      sentHash.update(chunk);
      if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) });
    }
    await waitFor(() => (streams[index]?.bytes ?? 0) >= total, 15_000, `the receiver to get ${total} bytes`);
    await stream.close();
    expect(streams[index]?.isYamuxStream).toBe(true);
    return { received: streams[index]!, sentHash: sentHash.digest("hex") };
  }

  it("answers 400 small messages (100 KiB, under half a window) with at most one window update", async () => {
    const chunks = Array.from({ length: 400 }, () => randomBytes(256));
    const { received, sentHash } = await transfer(chunks);
    expect(received.bytes).toBe(400 * 256);
    expect(received.hash.digest("hex")).toBe(sentHash);
    // the one allowed update is the ACK that opens the stream (it rides on a window update)
    expect(received.windowUpdates).toBeLessThanOrEqual(1);
  }, 30_000);

  it("keeps a transfer of 16 windows flowing, with about one update per half window", async () => {
    const chunks = Array.from({ length: 256 }, () => randomBytes(16 * KiB)); // 4 MiB
    const { received, sentHash } = await transfer(chunks);
    expect(received.bytes).toBe(4096 * KiB);
    expect(received.hash.digest("hex")).toBe(sentHash);
    // 4 MiB / 128 KiB = 32 half windows (fewer when the window grows), plus the ACK
    expect(received.windowUpdates).toBeGreaterThanOrEqual(1);
    expect(received.windowUpdates).toBeLessThanOrEqual(33);
  }, 30_000);
});
