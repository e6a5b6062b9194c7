import { isIP } from "node:net";
import { networkInterfaces } from "node:os";

/**
 * Checks on an HTTP request before it is routed: its request target (path and query, strictly
 * percent-decoded), its Host header (against an allow-list, the defence against DNS rebinding)
 * and the media type of a POST body. Each failure is an HttpError with the status to answer.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** machine-readable detail, answered as `data` beside `error` */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface RequestTarget {
  /** the decoded path, e.g. "/api/getBlock" */
  path: string;
  /** decoded query parameters; a repeated name is an error */
  query: Record<string, string>;
}

// RFC 3986 pchar / query characters, and "%" that must start a valid escape.
const TARGET_RE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;
const BAD_ESCAPE_RE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Parses an origin-form request target (`/path?query`). Anything else (absolute-form, `*`,
 * characters outside RFC 3986, a bad or non-UTF-8 percent escape, a repeated query name) is a
 * 400: the client sent something malformed, which is never worth a 500.
 */
export function parseRequestTarget(target: string): RequestTarget {
  if (!TARGET_RE.test(target)) throw new HttpError(400, "malformed request target");
  const queryAt = target.indexOf("?");
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? "" : target.slice(queryAt + 1);
  const path = decodeComponent(rawPath, "path");
  const query: Record<string, string> = {};
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeComponent((eq < 0 ? pair : pair.slice(0, eq)).replaceAll("+", " "), "query");
    const value = eq < 0 ? "" : decodeComponent(pair.slice(eq + 1).replaceAll("+", " "), "query");
    if (Object.hasOwn(query, name)) {
      throw new HttpError(400, `query parameter '${name.slice(0, 64)}' given twice`);
    }
    query[name] = value;
  }
  return { path, query };
}

function decodeComponent(text: string, where: string): string {
  if (BAD_ESCAPE_RE.test(text)) throw new HttpError(400, `malformed percent-encoding in the ${where}`);
  try {
    return decodeURIComponent(text);
  } catch {
    // decodeURIComponent throws URIError for escapes that are not UTF-8 (e.g. %E0%A4%A or %FF)
    throw new HttpError(400, `percent-encoding in the ${where} is not UTF-8`);
  }
}

/**
 * The Host header allow-list. A web page on a name the attacker controls can make that name
 * resolve to 127.0.0.1 (DNS rebinding); the browser then sends that name as Host, so a node that
 * answers only the names it knows is not readable from such a page. go-ethereum does the same
 * with `--http.vhosts`.
 *
 * Always allowed: `localhost`, 127.0.0.1, ::1 and the address the API is bound to (every local
 * interface address when it is bound to 0.0.0.0 or ::), plus the configured names. A `*` in the
 * list turns the check off. A request without a Host header (HTTP/1.0) is allowed: browsers
 * always send one. The port is not compared.
 */
export class HostAllowList {
  private readonly hosts: Set<string>;
  private readonly any: boolean;

  constructor(configured: readonly string[], boundAddress: string) {
    this.any = configured.includes("*");
    const hosts = ["localhost", "127.0.0.1", "::1", ...configured];
    const bound = normaliseHost(boundAddress);
    if (bound === "0.0.0.0" || bound === "::") {
      for (const addresses of Object.values(networkInterfaces())) {
        for (const a of addresses ?? []) hosts.push(a.address);
      }
    } else {
      hosts.push(bound);
    }
    this.hosts = new Set(hosts.map(normaliseHost));
  }

  /** Throws 403 unless `hostHeader` names an allowed host. */
  check(hostHeader: string | undefined): void {
    if (this.any || hostHeader === undefined) return;
    if (!this.hosts.has(hostOf(hostHeader))) {
      throw new HttpError(
        403,
        "host not allowed: add it with --api-vhosts (QUARRY_API_VHOSTS) if this node should answer it",
      );
    }
  }
}

/** The host part of a Host header value (`name:port`, `[v6]:port`, or no port), normalised. */
function hostOf(header: string): string {
  const value = header.trim();
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    return close < 0 ? value.toLowerCase() : normaliseHost(value.slice(1, close));
  }
  const colon = value.lastIndexOf(":");
  // One colon: name:port. More than one without brackets is not a valid Host; compared whole.
  if (colon >= 0 && value.indexOf(":") === colon) return normaliseHost(value.slice(0, colon));
  return normaliseHost(value);
}

function normaliseHost(host: string): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIP(bare) === 6 && !bare.includes("%")) {
    // the canonical text of the address, so "0:0:0:0:0:0:0:1" and "::1" match
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  }
  return bare.toLowerCase();
}

/**
 * Throws 415 unless the body is declared `application/json` (a `charset` other than UTF-8 too).
 * A browser sends a cross-origin POST without a CORS preflight only with a "simple" type
 * (text/plain, form encodings); requiring JSON makes every cross-origin POST need a preflight,
 * which this server never grants.
 */
export function checkJsonContentType(header: string | undefined): void {
  const [type = "", ...parameters] = (header ?? "").split(";").map((part) => part.trim().toLowerCase());
  const charset = parameters.find((p) => p.startsWith("charset="))?.slice("charset=".length);
  const utf8 = charset === undefined || charset === "utf-8" || charset === '"utf-8"' || charset === "utf8";
  if (type !== "application/json" || !utf8) {
    throw new HttpError(415, "POST bodies must be Content-Type: application/json");
  }
}
