import type { Stream } from "@libp2p/interface";
import { SyncError, SyncErrorCode } from "./errors.js";

/** Longest unsigned LEB128 varint of a 64-bit value; any longer prefix is not a varint at all. */
export const MAX_VARINT_BYTES = 10;

/** Bytes of the unsigned LEB128 varint of `n` (the most a valid prefix of a frame ≤ n needs). */
export function varintLength(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) bytes++;
  return bytes;
}

/** Bytes a peer may have buffered in our undecoded frames at once; shared by its streams. */
export interface ByteBudget {
  /** Takes `n` bytes of `peer`'s budget; false (nothing taken) when it would go over. */
  take(peer: string, n: number): boolean;
  /** Gives `n` bytes back. */
  give(peer: string, n: number): void;
}

/** A per-peer ByteBudget of `limit` bytes. */
export function byteBudget(limit: number): ByteBudget {
  const used = new Map<string, number>();
  return {
    take(peer, n) {
      const now = used.get(peer) ?? 0;
      if (now + n > limit) return false;
      used.set(peer, now + n);
      return true;
    },
    give(peer, n) {
      const left = (used.get(peer) ?? 0) - n;
      if (left > 0) used.set(peer, left);
      else used.delete(peer);
    },
  };
}

export interface ReadFrameOptions {
  /** ceiling of the frame body; a prefix announcing more is refused as soon as it is seen */
  maxBytes: number;
  signal: AbortSignal;
  /** charged for every byte held until the frame decodes, under `peer` */
  budget?: ByteBudget;
  peer?: string;
}

/**
 * Reads one length-prefixed frame (unsigned varint length, then that many bytes) from `stream`,
 * byte by byte for the prefix, so a prefix that cannot be valid is refused the moment it is seen:
 * a continuation bit past the prefix length `maxBytes` needs, or past `MAX_VARINT_BYTES`
 * (SYNC_OVERSIZED), or a length above `maxBytes` (SYNC_OVERSIZED). Bytes held before the frame is
 * whole are charged to `budget` (SYNC_STREAM_LIMIT when the peer's budget is spent). The stream
 * ending early is SYNC_STREAM_FAILED; bytes after the frame are left unread.
 *
 * `@libp2p/utils`' lpStream checks the prefix length only after a varint decodes, so an endless
 * prefix (0xff 0xff …) was held, re-decoded on every byte, until the request deadline.
 */
export function readFrame(stream: Stream, opts: ReadFrameOptions): Promise<Uint8Array> {
  const maxPrefix = Math.min(varintLength(opts.maxBytes), MAX_VARINT_BYTES);
  const peer = opts.peer ?? "";
  return new Promise<Uint8Array>((resolve, reject) => {
    let length = 0;
    let prefixBytes = 0;
    let scale = 1;
    let bodyLength = -1;
    let held = 0;
    const chunks: Uint8Array[] = [];
    let settled = false;

    const cleanup = (): void => {
      settled = true;
      stream.removeEventListener("message", onMessage);
      stream.removeEventListener("close", onClose);
      stream.removeEventListener("remoteCloseWrite", onRemoteCloseWrite);
      opts.signal.removeEventListener("abort", onAbort);
      if (held > 0) opts.budget?.give(peer, held);
      held = 0;
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      cleanup();
      reject(err);
    };
    const hold = (n: number): boolean => {
      if (opts.budget && !opts.budget.take(peer, n)) {
        fail(new SyncError(SyncErrorCode.STREAM_LIMIT, "peer's undecoded frames exceed their byte budget"));
        return false;
      }
      held += n;
      return true;
    };
    const finish = (): void => {
      if (settled) return;
      const body = new Uint8Array(bodyLength);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      cleanup();
      resolve(body);
    };

    const onMessage = (evt: { data: Uint8Array | { subarray(): Uint8Array } }): void => {
      if (settled) return;
      const data = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray();
      let i = 0;
      while (bodyLength < 0 && i < data.length) {
        const byte = data[i++]!;
        prefixBytes++;
        length += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte & 0x80) {
          if (prefixBytes >= maxPrefix) {
            fail(
              new SyncError(
                SyncErrorCode.OVERSIZED,
                `length prefix continues past ${maxPrefix} bytes (frame ceiling ${opts.maxBytes})`,
              ),
            );
            return;
          }
          continue;
        }
        if (length > opts.maxBytes) {
          fail(new SyncError(SyncErrorCode.OVERSIZED, `frame of ${length} bytes > ${opts.maxBytes}`));
          return;
        }
        bodyLength = length;
      }
      if (bodyLength < 0) return;
      // `held` counts the body bytes taken so far
      const wanted = bodyLength - held;
      const part = data.subarray(i, i + wanted);
      if (part.length > 0) {
        if (!hold(part.length)) return;
        // a copy: the muxer may reuse the chunk it handed us
        chunks.push(Uint8Array.from(part));
      }
      if (held === bodyLength || bodyLength === 0) finish();
    };
    const onClose = (evt: Event & { error?: Error }): void => {
      fail(evt.error ?? new SyncError(SyncErrorCode.STREAM_FAILED, "stream closed before a whole frame"));
    };
    const onRemoteCloseWrite = (): void => {
      fail(new SyncError(SyncErrorCode.STREAM_FAILED, "stream ended before a whole frame"));
    };
    const onAbort = (): void => {
      fail(opts.signal.reason ?? new Error("aborted"));
    };

    if (opts.signal.aborted) {
      reject(opts.signal.reason);
      return;
    }
    opts.signal.addEventListener("abort", onAbort, { once: true });
    stream.addEventListener("close", onClose);
    stream.addEventListener("remoteCloseWrite", onRemoteCloseWrite);
    // Added last: a stream that already holds bytes dispatches them as this listener is added.
    stream.addEventListener("message", onMessage);
  });
}

/** Writes `body` as one length-prefixed frame, waiting for the stream to drain when it asks. */
export async function writeFrame(stream: Stream, body: Uint8Array, signal: AbortSignal): Promise<void> {
  const prefix: number[] = [];
  let v = body.length;
  while (v >= 0x80) {
    prefix.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  prefix.push(v);
  const frame = new Uint8Array(prefix.length + body.length);
  frame.set(prefix);
  frame.set(body, prefix.length);
  if (!stream.send(frame)) await stream.onDrain({ signal });
}
