import { yamux } from "@chainsafe/libp2p-yamux";
import { StreamState, YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import type { StreamMuxerFactory } from "@libp2p/interface";

/** The fields of a yamux stream that decide its window updates (public at runtime, private in its types). */
interface ReceiveWindow {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

const PATCHED = Symbol.for("quarry.yamux.windowUpdateAtHalf");

/**
 * The yamux stream muxer, with window updates sent once half of a stream's receive window is
 * used instead of after every data frame.
 *
 * `@chainsafe/libp2p-yamux` 8.0.1 answers every data frame it receives with a window-update frame:
 * one more noise-encrypted socket write per message, and on a circuit relay four writes per
 * relayed message instead of one (each hop's update, plus the end-to-end update the relay forwards).
 * Profiled on a testbed relay (docs/BENCHMARKS.md, "Yamux window updates") these updates were 42 %
 * of its socket writes. go-yamux and rust-yamux send the update when half the window is consumed;
 * the yamux spec leaves the moment to the receiver, so peers of any implementation see only fewer
 * updates with larger deltas. Stream opening and acknowledgement (SYN/ACK ride on window updates),
 * pausing, and the window auto-tuning are unchanged: an update that carries a flag is always sent,
 * and the original method runs whenever an update is due.
 *
 * The change is made once on the package's exported `YamuxStream` class (the muxer constructs it
 * directly, with no way to pass another class). An upgrade that removes the method or the stream
 * states fails at start-up; one that renames the window fields makes the guard below fall through
 * to yamux's own method, i.e. back to an update per frame, never to too few updates.
 */
export function quarryYamux(): () => StreamMuxerFactory {
  sendWindowUpdatesAtHalfWindow();
  return yamux();
}

/** Installs the half-window rule on `YamuxStream` (idempotent); `quarryYamux` calls it. */
function sendWindowUpdatesAtHalfWindow(): void {
  const proto = YamuxStream.prototype as unknown as Record<PropertyKey, unknown> & {
    sendWindowUpdate: (this: YamuxStream) => void;
  };
  if (proto[PATCHED] === true) return;
  const original = proto.sendWindowUpdate;
  if (typeof original !== "function" || StreamState.Established === undefined) {
    throw new Error("@chainsafe/libp2p-yamux changed: YamuxStream.sendWindowUpdate or StreamState is gone");
  }
  proto.sendWindowUpdate = function sendWindowUpdateAtHalf(this: YamuxStream): void {
    const stream = this as unknown as ReceiveWindow;
    // Established streams have no flag to send: hold the update until half the window is used
    if (stream.state === StreamState.Established && stream.recvWindowCapacity * 2 > stream.recvWindow) return;
    original.call(this);
  };
  proto[PATCHED] = true;
}
