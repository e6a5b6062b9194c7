import { QuarryError } from "../util/index.js";

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
  /** the node's store failed (a corrupt record; the chain is halted); data.code says why */
  STORE_FAILED: -32005,
  /** the node keeps no address index (--no-address-index); data.code ADDRESS_INDEX_DISABLED */
  ADDRESS_INDEX_DISABLED: -32006,
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
  /**
   * Parameter names in positional order: `params` given as an array is mapped onto these names
   * (docs/API.md lists the order per method). Absent: the method takes no parameters.
   */
  params?: readonly string[];
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

/** JSON with bigint as decimal strings and bytes as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
    return v;
  });
}

/**
 * The parameters of a call to `name` as named ones. An array is mapped position by position onto
 * `method.params` (JSON-RPC 2.0 "by-position"); an object is taken by name. More positions than
 * the method has, or a name it does not have, is INVALID_PARAMS. A null value counts as absent
 * (clients send null for an optional position they skip).
 */
export function namedParams(name: string, method: RpcMethod, raw: unknown): RpcParams {
  const names = method.params ?? [];
  const params: RpcParams = {};
  if (raw === undefined || raw === null) return params;
  if (Array.isArray(raw)) {
    if (raw.length > names.length) {
      const takes = names.length === 0 ? "no parameters" : `at most ${names.length}: ${names.join(", ")}`;
      throw new RpcError(
        RpcErrorCode.INVALID_PARAMS,
        `'${name}' takes ${takes}; got ${raw.length} positional parameters`,
      );
    }
    raw.forEach((value, i) => {
      if (value !== null) params[names[i]!] = value;
    });
    return params;
  }
  if (typeof raw !== "object") {
    throw new RpcError(RpcErrorCode.INVALID_PARAMS, "params must be an array or an object");
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!names.includes(key)) {
      const takes = names.length === 0 ? "no parameters" : names.join(", ");
      throw new RpcError(
        RpcErrorCode.INVALID_PARAMS,
        `unknown parameter '${key.slice(0, 64)}' for '${name}' (it takes: ${takes})`,
      );
    }
    if (value !== null) params[key] = value;
  }
  return params;
}
