import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COOKIE_FILE } from "../../src/api/server.js";
import type { QuarryNode } from "../../src/node.js";

/** A JSON-RPC 2.0 answer as a client sees it. */
export interface RpcAnswer<T = unknown> {
  status: number;
  result?: T;
  error?: { code: number; message: string; data?: { code?: string; param?: string } };
}

/** The node's cookie token (api.cookie in its datadir). */
export function nodeToken(node: QuarryNode): string {
  return readFileSync(join(node.options.datadir, COOKIE_FILE), "utf8").trim();
}

/** Calls a method of a running node over HTTP, with the node's token unless `token` is false. */
export async function callRpc<T = unknown>(
  node: QuarryNode,
  method: string,
  params: unknown = [],
  opts: { token?: boolean } = {},
): Promise<RpcAnswer<T>> {
  const res = await fetch(`${node.api.url}/rpc`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(opts.token === false ? {} : { authorization: `Bearer ${nodeToken(node)}` }),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: RpcAnswer["error"] };
  return { status: res.status, ...body };
}

/** Calls a method that must succeed; throws with the error otherwise. */
export async function rpcOk<T = unknown>(node: QuarryNode, method: string, params: unknown = []): Promise<T> {
  const answer = await callRpc<T>(node, method, params);
  if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}
