import { StreamStateError } from "@libp2p/interface";
import { describe, expect, it } from "vitest";
import { isClosedStreamWrite } from "../../../src/network/index.js";

describe("isClosedStreamWrite: the one uncaught libp2p exception a node survives", () => {
  // The stack of the crash seen in the 50-node simulation (a worker hosting 25 nodes exited).
  const yamuxStack = [
    "StreamStateError: Cannot write to a stream that is closed",
    "    at EncryptedMessageStream.send (node_modules/@libp2p/utils/dist/src/abstract-message-stream.js:123:19)",
    "    at YamuxMuxer.send (node_modules/@libp2p/utils/dist/src/abstract-stream-muxer.js:52:36)",
    "    at YamuxMuxer.sendFrame (node_modules/@chainsafe/libp2p-yamux/dist/src/muxer.js:401:21)",
    "    at YamuxStream.sendWindowUpdate (node_modules/@chainsafe/libp2p-yamux/dist/src/stream.js:245:14)",
  ].join("\n");

  it("matches libp2p's StreamStateError raised from yamux", () => {
    const err = new StreamStateError("Cannot write to a stream that is closed");
    err.stack = yamuxStack;
    expect(err.name).toBe("StreamStateError");
    expect(isClosedStreamWrite(err)).toBe(true);
  });

  it("does not match the same class from elsewhere, other errors, or non-errors", () => {
    const elsewhere = new StreamStateError("Cannot write to a stream that is closed");
    expect(isClosedStreamWrite(elsewhere)).toBe(false);
    const other = new TypeError("boom");
    other.stack = yamuxStack.replace("StreamStateError", "TypeError");
    expect(isClosedStreamWrite(other)).toBe(false);
    expect(isClosedStreamWrite("StreamStateError yamux")).toBe(false);
    expect(isClosedStreamWrite(undefined)).toBe(false);
  });
});
