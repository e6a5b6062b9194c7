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

/** Calls a JSON-RPC method; node errors become one-line CLI errors. */
export async function callNode(
  target: ApiTarget,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/rpc`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new CliError(
      `the node at ${target.url} is not answering; is it running? (start it with 'quarry start')`,
      2,
      "CLI_FAILED",
    );
  }
  const body = (await res.json()) as {
    result?: unknown;
    error?: { message: string; data?: { code?: string } };
  };
  if (body.error) {
    const code = body.error.data?.code ? ` [${body.error.data.code}]` : "";
    throw new CliError(`${method}: ${body.error.message}${code}`, 1, "CLI_FAILED");
  }
  return body.result;
}
