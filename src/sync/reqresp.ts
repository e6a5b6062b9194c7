import type { AbortOptions, Connection, PeerId, Stream, StreamHandler } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { CodecError, CodecErrorCode } from "../primitives/codec.js";
import { decodeResponse, encodeResponse, ResultCode } from "./codec.js";
import { isSyncError, SyncError, SyncErrorCode } from "./errors.js";
import type { SyncLibp2p } from "./types.js";

/**
 * Request/response plumbing shared by every sync protocol (Lodestar's reqresp shape, one frame
 * each way): the client writes one length-prefixed request frame and half-closes; the server
 * answers one length-prefixed frame `result u8 | payload` and closes. Frame lengths are checked
 * against the protocol's ceiling before a byte of the body is buffered.
 */

export interface RequestOptions {
  timeoutMs: number;
  /** ceiling of the response frame (result byte included) */
  maxResponseBytes: number;
  /** aborts with SYNC_STOPPED (the service is stopping) */
  signal?: AbortSignal;
}

// libp2p's frame errors (by name: they come from several packages' classes).
const OVERSIZE_ERRORS = new Set([
  "InvalidDataLengthError",
  "InvalidDataLengthLengthError",
  "StreamBufferError",
]);

function lpOptions(maxBytes: number) {
  // The varint prefix of maxBytes is at most 5 bytes; the buffer must hold one whole frame.
  return { maxDataLength: maxBytes, maxBufferSize: maxBytes + 16 };
}

/** Maps whatever a request threw to one SyncError; deadline and stop are told apart by signal. */
function classify(err: unknown, deadline: AbortSignal, stop: AbortSignal | undefined): SyncError {
  if (isSyncError(err)) return err;
  if (stop?.aborted) return new SyncError(SyncErrorCode.STOPPED, "sync stopped");
  if (deadline.aborted) return new SyncError(SyncErrorCode.TIMEOUT, "request timed out");
  const name = err instanceof Error ? err.name : "";
  if (OVERSIZE_ERRORS.has(name)) return new SyncError(SyncErrorCode.OVERSIZED, (err as Error).message);
  if (name === "InvalidMessageLengthError")
    return new SyncError(SyncErrorCode.MALFORMED, (err as Error).message);
  if (err instanceof CodecError) {
    const code =
      err.type.code === CodecErrorCode.TOO_LARGE ? SyncErrorCode.OVERSIZED : SyncErrorCode.MALFORMED;
    return new SyncError(code, err.message);
  }
  return new SyncError(SyncErrorCode.STREAM_FAILED, err instanceof Error ? err.message : String(err));
}

/**
 * Sends one request and returns the OK payload. Throws SyncError: SYNC_TIMEOUT, SYNC_STOPPED,
 * SYNC_OVERSIZED, SYNC_MALFORMED, SYNC_REMOTE_ERROR (an error result) or SYNC_STREAM_FAILED.
 */
export async function sendRequest(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  body: Uint8Array,
  opts: RequestOptions,
): Promise<Uint8Array> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  let stream: Stream | undefined;
  try {
    stream = await libp2p.dialProtocol(peer, protocol, { signal });
    const lp = lpStream(stream, lpOptions(opts.maxResponseBytes));
    await lp.write(body, { signal });
    await stream.close({ signal });
    const frame = (await lp.read({ signal })).subarray();
    const response = decodeResponse(frame);
    if (response.result !== ResultCode.OK) {
      throw new SyncError(
        SyncErrorCode.REMOTE_ERROR,
        `${protocol}: peer answered ${ResultCode[response.result]}: ${response.message}`,
      );
    }
    return response.payload;
  } catch (err) {
    const error = classify(err, deadline, opts.signal);
    stream?.abort(error);
    throw error;
  }
}

/** Serves one protocol: returns the OK payload, or throws (SyncError INVALID_REQUEST / CodecError = bad request). */
export type RequestHandler = (
  request: Uint8Array,
  peer: PeerId,
  options: AbortOptions,
) => Promise<Uint8Array>;

export interface ServeOptions {
  timeoutMs: number;
  maxRequestBytes: number;
  /** told about requests that were malformed, oversized or too slow, for the scorer */
  onBadRequest?: (peer: PeerId, error: SyncError) => void;
  /** told about handler failures that are ours, for the log */
  onServerError?: (peer: PeerId, error: unknown) => void;
}

/** Wraps a RequestHandler into a libp2p 3 stream handler `(stream, connection)`. */
export function serveProtocol(handler: RequestHandler, opts: ServeOptions): StreamHandler {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer;
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    try {
      const lp = lpStream(stream, lpOptions(opts.maxRequestBytes));
      let request: Uint8Array;
      try {
        request = (await lp.read({ signal: deadline })).subarray();
      } catch (err) {
        const error = classify(err, deadline, undefined);
        if (error.type.code !== SyncErrorCode.STREAM_FAILED) opts.onBadRequest?.(peer, error);
        stream.abort(error);
        return;
      }
      let frame: Uint8Array;
      try {
        frame = encodeResponse({
          result: ResultCode.OK,
          payload: await handler(request, peer, { signal: deadline }),
        });
      } catch (err) {
        const bad = err instanceof CodecError || isSyncError(err, SyncErrorCode.INVALID_REQUEST);
        if (bad) opts.onBadRequest?.(peer, classify(err, deadline, undefined));
        else opts.onServerError?.(peer, err);
        const result = bad
          ? ResultCode.INVALID_REQUEST
          : isSyncError(err, SyncErrorCode.STOPPED)
            ? ResultCode.UNAVAILABLE
            : ResultCode.SERVER_ERROR;
        frame = encodeResponse({ result, message: err instanceof Error ? err.message : "error" });
      }
      await lp.write(frame, { signal: deadline });
      await stream.close({ signal: deadline });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  };
}
