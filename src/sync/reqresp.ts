import type { AbortOptions, Connection, PeerId, Stream, StreamHandler } from "@libp2p/interface";
import { CodecError, CodecErrorCode } from "../primitives/index.js";
import { decodeResponse, encodeResponse, ResultCode } from "./codec.js";
import { isSyncError, SyncError, SyncErrorCode } from "./errors.js";
import { type ByteBudget, readFrame, writeFrame } from "./frame.js";
import { requestSlotsOf } from "./request-slots.js";
import type { SyncLibp2p } from "./types.js";

/**
 * Request/response plumbing shared by every sync protocol (Lodestar's reqresp shape, one frame
 * each way): the client writes one length-prefixed request frame and half-closes; the server
 * answers one length-prefixed frame `result u8 | payload` and closes. Frame lengths are checked
 * against the protocol's ceiling as the prefix arrives, before a byte of the body is buffered
 * (frame.ts); a server also bounds each peer's open streams and undecoded bytes.
 */

export interface RequestOptions {
  timeoutMs: number;
  /** ceiling of the response frame (result byte included) */
  maxResponseBytes: number;
  /** aborts with SYNC_STOPPED (the service is stopping) */
  signal?: AbortSignal;
}

/** Maps whatever a request threw to one SyncError; deadline and stop are told apart by signal. */
function classify(err: unknown, deadline: AbortSignal, stop: AbortSignal | undefined): SyncError {
  if (isSyncError(err)) return err;
  if (stop?.aborted) return new SyncError(SyncErrorCode.STOPPED, "sync stopped");
  if (deadline.aborted) return new SyncError(SyncErrorCode.TIMEOUT, "request timed out");
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
 * At most `MAX_OUTBOUND_REQUESTS_PER_PEER` requests are open to one peer at a time (the rest wait
 * for a slot within their deadline), so we never cross a server's per-peer stream limit.
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
  let release: (() => void) | undefined;
  try {
    release = await requestSlotsOf(libp2p).acquire(peer.toString(), signal);
    stream = await libp2p.dialProtocol(peer, protocol, { signal });
    await writeFrame(stream, body, signal);
    await stream.close({ signal });
    const frame = await readFrame(stream, { maxBytes: opts.maxResponseBytes, signal });
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
  } finally {
    release?.();
  }
}

/** Serves one protocol: returns the OK payload, or throws (SyncError INVALID_REQUEST / CodecError = bad request). */
export type RequestHandler = (
  request: Uint8Array,
  peer: PeerId,
  options: AbortOptions,
) => Promise<Uint8Array>;

/** Per-peer bounds of a server, shared by every protocol it serves. */
export interface InboundLimits {
  /** open inbound request streams of one peer (all protocols, all connections) */
  maxStreamsPerPeer: number;
  /** bytes held for one peer's frames that have not decoded yet (all its streams) */
  budget: ByteBudget;
  /** open streams per peer; one map for every protocol served with these limits */
  open: Map<string, number>;
}

export interface ServeOptions {
  timeoutMs: number;
  maxRequestBytes: number;
  limits?: InboundLimits;
  /** told about requests that were malformed, oversized, too slow or over a limit, for the scorer */
  onBadRequest?: (peer: PeerId, error: SyncError) => void;
  /** told about handler failures that are ours, for the log */
  onServerError?: (peer: PeerId, error: unknown) => void;
}

/** Wraps a RequestHandler into a libp2p 3 stream handler `(stream, connection)`. */
export function serveProtocol(handler: RequestHandler, opts: ServeOptions): StreamHandler {
  return async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer;
    const key = peer.toString();
    const limits = opts.limits;
    const open = (limits?.open.get(key) ?? 0) + 1;
    if (limits && open > limits.maxStreamsPerPeer) {
      const error = new SyncError(
        SyncErrorCode.STREAM_LIMIT,
        `more than ${limits.maxStreamsPerPeer} open request streams`,
      );
      opts.onBadRequest?.(peer, error);
      stream.abort(error);
      return;
    }
    limits?.open.set(key, open);
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    try {
      let request: Uint8Array;
      try {
        request = await readFrame(stream, {
          maxBytes: opts.maxRequestBytes,
          signal: deadline,
          ...(limits ? { budget: limits.budget, peer: key } : {}),
        });
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
      await writeFrame(stream, frame, deadline);
      await stream.close({ signal: deadline });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      if (limits) {
        const left = (limits.open.get(key) ?? 1) - 1;
        if (left > 0) limits.open.set(key, left);
        else limits.open.delete(key);
      }
    }
  };
}
