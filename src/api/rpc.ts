import { QuarryError } from "../util/errors.js";

/** JSON-RPC 2.0 error codes (the spec's, plus Quarry's application range). */
export const RpcErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** the request needs the cookie token */
  UNAUTHORIZED: -32001,
  /** the node rejected what was asked (e.g. an invalid transaction); data.code says why */
  REJECTED: -32002,
  NOT_FOUND: -32004,
} as const;

export class RpcError extends QuarryError<{ code: "API_RPC_ERROR"; rpcCode: number; data?: unknown }> {
  constructor(rpcCode: number, message: string, data?: unknown) {
    super({ code: "API_RPC_ERROR", rpcCode, ...(data === undefined ? {} : { data }) }, message);
  }
}

export type RpcParams = Record<string, unknown>;

export interface RpcMethod {
  /** one line for docs/API.md and `rpc.methods` */
  summary: string;
  /** read-only methods need no token and are also served as REST GETs */
  readOnly: boolean;
  handler(params: RpcParams): Promise<unknown>;
}

export type RpcMethodTable = Record<string, RpcMethod>;

/** Reads a required string parameter (by name, or by position for array params). */
export function stringParam(params: RpcParams, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new RpcError(RpcErrorCode.INVALID_PARAMS, `parameter '${name}' must be a non-empty string`);
  }
  return value;
}

export function optionalIntParam(
  params: RpcParams,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new RpcError(
      RpcErrorCode.INVALID_PARAMS,
      `parameter '${name}' must be an integer in [${min}, ${max}]`,
    );
  }
  return n;
}

interface RpcRequest {
  jsonrpc: "2.0";
  id: string | number | null;
  method: string;
  params: RpcParams;
}

/** Validates one JSON-RPC request object; positional params are not supported (named only). */
export function parseRpcRequest(value: unknown): RpcRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RpcError(RpcErrorCode.INVALID_REQUEST, "request must be a JSON object");
  }
  const r = value as Record<string, unknown>;
  if (r.jsonrpc !== "2.0" || typeof r.method !== "string") {
    throw new RpcError(RpcErrorCode.INVALID_REQUEST, "request needs jsonrpc: '2.0' and a method");
  }
  const id = r.id === undefined ? null : r.id;
  if (id !== null && typeof id !== "string" && typeof id !== "number") {
    throw new RpcError(RpcErrorCode.INVALID_REQUEST, "id must be a string, number or null");
  }
  const params = r.params ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new RpcError(RpcErrorCode.INVALID_PARAMS, "params must be an object of named parameters");
  }
  return { jsonrpc: "2.0", id, method: r.method, params: params as RpcParams };
}

/** JSON with bigint as decimal strings and bytes as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
    return v;
  });
}
