import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { COOKIE_FILE, ENDPOINT_FILE } from "../api/index.js";
import { CliError } from "./command.js";

/** How the CLI reaches a running node: `--api URL` (with `--datadir` for the token) or `<datadir>/api.json`. */
export interface ApiTarget {
  url: string;
  token: string | undefined;
}

export function findNode(datadir: string, apiUrl: string | undefined): ApiTarget {
  const cookiePath = join(datadir, COOKIE_FILE);
  const token = existsSync(cookiePath) ? readFileSync(cookiePath, "utf8").trim() : undefined;
  if (apiUrl) return { url: apiUrl.replace(/\/$/, ""), token };
  const endpointPath = join(datadir, ENDPOINT_FILE);
  if (!existsSync(endpointPath)) {
    throw new CliError(
      `no running node found in ${datadir} (no ${ENDPOINT_FILE}); start one with 'quarry start --datadir ${datadir}' or pass --api URL`,
      2,
      "CLI_FAILED",
    );
  }
  const { url } = JSON.parse(readFileSync(endpointPath, "utf8")) as { url: string };
  return { url, token };
}

/** A JSON-RPC answer as the node sends it: a result, or an error with the node's error code in data. */
export type RpcAnswer =
  | { result: unknown; error?: undefined }
  | { result?: undefined; error: { code: number; message: string; data?: { code?: string } } };

/** Why one request to the node did not produce an answer. */
export type RpcTransportFailure = "unreachable" | "unauthorized";

/**
 * Sends one JSON-RPC request (with the cookie token when there is one). The one HTTP path of the
 * CLI and the external miner: resolves to the node's answer, or to the transport failure the
 * caller turns into its own message. An abort by `signal` rejects with the abort reason.
 */
export async function postRpc(
  target: ApiTarget,
  method: string,
  params: unknown,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<RpcAnswer | { failure: RpcTransportFailure }> {
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  try {
    res = await fetch(`${target.url}/rpc`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return { failure: "unreachable" };
  }
  if (res.status === 401) return { failure: "unauthorized" };
  return (await res.json()) as RpcAnswer;
}

/** Calls a JSON-RPC method; node errors become one-line CLI errors. */
export async function callNode(
  target: ApiTarget,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<unknown> {
  const answer = await postRpc(target, method, params, { timeoutMs });
  if ("failure" in answer && answer.failure === "unreachable") {
    throw new CliError(
      `the node at ${target.url} is not answering; is it running? (start it with 'quarry start')`,
      2,
      "CLI_FAILED",
    );
  }
  if ("failure" in answer) {
    throw new CliError(
      `${method}: the node refused the token (give the node's --datadir, which holds api.cookie)`,
      1,
      "CLI_FAILED",
    );
  }
  if (answer.error) {
    const code = answer.error.data?.code ? ` [${answer.error.data.code}]` : "";
    throw new CliError(`${method}: ${answer.error.message}${code}`, 1, "CLI_FAILED");
  }
  return answer.result;
}
