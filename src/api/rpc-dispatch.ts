import { namedParams, RpcError, RpcErrorCode, type RpcMethod } from "./rpc.js";

/**
 * JSON-RPC 2.0 message handling, without HTTP: one request or a batch in, the response (or none)
 * out. Follows the specification (https://www.jsonrpc.org/specification):
 * - a request without an `id` member is a notification: it runs, and nothing is answered for it;
 * - a batch (array) is answered with an array of the responses, notifications left out; a batch
 *   of notifications only is answered with nothing; an empty array is one INVALID_REQUEST error;
 * - an error answers the request's `id` whenever the request had a valid one (null otherwise).
 */

export type RpcId = string | number | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: RpcId; result: unknown }
  | { jsonrpc: "2.0"; id: RpcId; error: RpcErrorObject };

/** What to answer: `body` undefined means no body at all (HTTP 204). */
export interface RpcReply {
  status: number;
  body: RpcResponse | RpcResponse[] | undefined;
}

export interface RpcDispatchDeps {
  /** the method called `name`, if there is one */
  lookup(name: string): RpcMethod | undefined;
  /** whether this message came with the right token (state-changing methods need it) */
  authorised: boolean;
  /** a method threw something other than an RpcError: a bug or a store failure */
  onInternalError(err: unknown, method: string): void;
}

/** Requests in one batch, at most; a larger batch is one INVALID_REQUEST error. */
export const MAX_BATCH_REQUESTS = 100;

/** Answers a parsed JSON-RPC message: one request or a batch. Requests of a batch run in order. */
export async function dispatchRpc(message: unknown, deps: RpcDispatchDeps): Promise<RpcReply> {
  if (!Array.isArray(message)) {
    const response = await answerOne(message, deps);
    if (!response) return { status: 204, body: undefined };
    const unauthorised = "error" in response && response.error.code === RpcErrorCode.UNAUTHORIZED;
    return { status: unauthorised ? 401 : 200, body: response };
  }
  if (message.length === 0) {
    return { status: 200, body: errorResponse(null, RpcErrorCode.INVALID_REQUEST, "empty batch") };
  }
  if (message.length > MAX_BATCH_REQUESTS) {
    return {
      status: 200,
      body: errorResponse(
        null,
        RpcErrorCode.INVALID_REQUEST,
        `batch of ${message.length} requests; at most ${MAX_BATCH_REQUESTS}`,
      ),
    };
  }
  const responses: RpcResponse[] = [];
  for (const request of message) {
    const response = await answerOne(request, deps);
    if (response) responses.push(response);
  }
  return responses.length === 0 ? { status: 204, body: undefined } : { status: 200, body: responses };
}

/** The response to one request object, or undefined for a (valid) notification. */
async function answerOne(value: unknown, deps: RpcDispatchDeps): Promise<RpcResponse | undefined> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return errorResponse(null, RpcErrorCode.INVALID_REQUEST, "request must be a JSON object");
  }
  const request = value as Record<string, unknown>;
  const isNotification = !Object.hasOwn(request, "id");
  const id = request.id;
  if (!isNotification && id !== null && typeof id !== "string" && typeof id !== "number") {
    return errorResponse(null, RpcErrorCode.INVALID_REQUEST, "id must be a string, a number or null");
  }
  const replyId = isNotification ? null : (id as RpcId);
  // Not a valid Request object, so not a notification either: answered even without an id.
  if (request.jsonrpc !== "2.0") {
    return errorResponse(replyId, RpcErrorCode.INVALID_REQUEST, "request needs jsonrpc: '2.0'");
  }
  if (typeof request.method !== "string") {
    return errorResponse(replyId, RpcErrorCode.INVALID_REQUEST, "request needs a method name (a string)");
  }
  try {
    const result = await invoke(request.method, request.params, deps);
    return isNotification ? undefined : { jsonrpc: "2.0", id: replyId, result: result ?? null };
  } catch (err) {
    if (!(err instanceof RpcError)) deps.onInternalError(err, request.method);
    if (isNotification) return undefined;
    if (err instanceof RpcError) {
      return errorResponse(replyId, err.type.rpcCode, err.message, err.type.data);
    }
    const message = err instanceof Error ? err.message : "internal error";
    return errorResponse(replyId, RpcErrorCode.INTERNAL_ERROR, message);
  }
}

async function invoke(name: string, rawParams: unknown, deps: RpcDispatchDeps): Promise<unknown> {
  const method = deps.lookup(name);
  if (!method) throw new RpcError(RpcErrorCode.METHOD_NOT_FOUND, `no method '${name.slice(0, 64)}'`);
  if (!method.readOnly && !deps.authorised) {
    throw new RpcError(RpcErrorCode.UNAUTHORIZED, `method '${name}' needs the token from api.cookie`);
  }
  return method.handler(namedParams(name, method, rawParams));
}

function errorResponse(id: RpcId, code: number, message: string, data?: unknown): RpcResponse {
  return { jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}
