import { connect } from "node:net";

/** An HTTP response as read off the socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `request` (bytes exactly as given: malformed request lines, huge headers, anything) to
 * a fresh TCP connection to `url`'s host and port and reads the response until the server closes
 * the connection or the response's Content-Length is complete. Rejects after `timeoutMs`, or if
 * the server closed without a status line.
 */
export function rawRequest(url: string, request: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port) });
    let received = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error(`no complete response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) return reject(err);
      const parsed = parseResponse(received);
      if (!parsed) return reject(new Error(`no HTTP response, got ${JSON.stringify(received.toString())}`));
      resolve({ status: parsed.status, headers: parsed.headers, body: parsed.body });
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseResponse(received);
      if (parsed?.complete) finish();
    });
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    // a server that closes while we still write (e.g. after a 431) resets the connection
    socket.on("error", (err) => (received.length > 0 ? finish() : finish(err)));
    socket.write(request);
  });
}

function parseResponse(bytes: Buffer): (RawResponse & { complete: boolean }) | undefined {
  const text = bytes.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const raw = bytes.subarray(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    const { body, complete } = dechunk(raw);
    return { status: Number(match[1]), headers, body: body.toString("utf8"), complete };
  }
  const length = Number(headers["content-length"] ?? Number.NaN);
  return { status: Number(match[1]), headers, body: raw.toString("utf8"), complete: raw.length >= length };
}

function dechunk(raw: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString("latin1"), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** A well-formed HTTP/1.1 request with `Connection: close`; headers are written as given. */
export function httpRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body = "",
): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body.length > 0 || method === "POST") lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  lines.push("Connection: close");
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}
