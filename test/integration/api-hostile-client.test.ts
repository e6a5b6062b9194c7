import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { JSONRPCClient, type JSONRPCRequest, type JSONRPCResponse } from "json-rpc-2.0";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessNode, QUARRY_BIN } from "../helpers/process-node.js";
import { httpRequest, rawRequest } from "../helpers/raw-http.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The HTTP API of a real node process (`quarry start` on regtest) against clients that are not
 * the CLI: a third-party JSON-RPC 2.0 client (`json-rpc-2.0`), and a hostile client writing raw
 * bytes on a socket. The node must answer every request with a 2xx/4xx status (never a 500),
 * log no handler failure, and keep serving.
 */

let tmp: { path: string; cleanup: () => void };
let node: ProcessNode;
let hostHeader = "";

beforeAll(async () => {
  if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  tmp = tempDir("quarry-api-hostile-");
  node = await ProcessNode.start({
    datadir: join(tmp.path, "node"),
    args: ["--api-vhosts", "node.example.test"],
  });
  hostHeader = new URL(node.apiUrl).host;
});

afterAll(async () => {
  await node?.stop();
  tmp?.cleanup();
});

/** A json-rpc-2.0 client posting to the node; `token` adds the cookie token. */
function client(token?: string) {
  const c: JSONRPCClient = new JSONRPCClient(async (payload: unknown) => {
    const res = await fetch(`${node.apiUrl}/rpc`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(payload),
    });
    if (res.status === 204) return;
    c.receive((await res.json()) as JSONRPCResponse | JSONRPCResponse[]);
  });
  return c;
}

describe("JSON-RPC 2.0 with a third-party client (json-rpc-2.0 1.8.1)", () => {
  it("calls a method without parameters with params: [] and gets the result", async () => {
    const status = (await client().request("getStatus", [])) as { network: string; height: number };
    expect(status.network).toBe("regtest");
    expect(status.height).toBe(0);
  });

  it("positional parameters in the documented order: getBlock [id], getRecentBlocks [count]", async () => {
    const tip = (await client().request("getBlock", ["tip"])) as { height: number; hash: string };
    expect(tip.height).toBe(0);
    const byHash = (await client().request("getBlock", [tip.hash])) as { height: number };
    expect(byHash.height).toBe(0);
    const recent = (await client().request("getRecentBlocks", [1])) as unknown[];
    expect(recent).toHaveLength(1);
    const named = (await client().request("getBlock", { id: "0" })) as { hash: string };
    expect(named.hash).toBe(tip.hash);
  });

  it("an error answers the request's id; the client rejects with the node's code", async () => {
    const response = await client().requestAdvanced({
      jsonrpc: "2.0",
      id: "lookup-42",
      method: "getBlock",
      params: ["not-a-block"],
    });
    expect(response).toMatchObject({ id: "lookup-42", error: { code: -32602 } });
    await expect(client().request("getBlock", ["99999"])).rejects.toMatchObject({ code: -32004 });
  });

  it("a batch: an array of responses matched by id, the notification left out", async () => {
    const batch: JSONRPCRequest[] = [
      { jsonrpc: "2.0", id: 1, method: "getStatus", params: [] },
      { jsonrpc: "2.0", method: "getMempool" },
      { jsonrpc: "2.0", id: 2, method: "noSuchMethod" },
      { jsonrpc: "2.0", id: 3, method: "getBlock", params: ["tip"] },
    ];
    const responses = await client().requestAdvanced(batch);
    expect(responses.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.get(1)).toHaveProperty("result.network", "regtest");
    expect(byId.get(2)).toHaveProperty("error.code", -32601);
    expect(byId.get(3)).toHaveProperty("result.height", 0);
  });

  it("a notification gets HTTP 204 and no body; an all-notification batch too", async () => {
    await client().notify("getStatus", []);
    for (const body of [
      { jsonrpc: "2.0", method: "getStatus" },
      [
        { jsonrpc: "2.0", method: "getStatus" },
        { jsonrpc: "2.0", method: "getPeers", params: [] },
      ],
    ]) {
      const res = await fetch(`${node.apiUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
    }
  });

  it("a write method in a batch without the token is refused per element (UNAUTHORIZED)", async () => {
    const [response] = await client().requestAdvanced([
      { jsonrpc: "2.0", id: 9, method: "stop", params: [] },
    ]);
    expect(response).toMatchObject({ id: 9, error: { code: -32001 } });
    expect(node.running).toBe(true);
  });
});

const post = (body: string, headers: Record<string, string> = {}) =>
  httpRequest("POST", "/rpc", { Host: hostHeader, "Content-Type": "application/json", ...headers }, body);
const get = (target: string, headers: Record<string, string> = {}) =>
  httpRequest("GET", target, { Host: hostHeader, ...headers });
const rpcBody = (method: string, params: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });

/** [what, raw request, expected HTTP status, expected JSON-RPC error code (for /rpc)] */
const HOSTILE: [string, () => string | Buffer, number, number?][] = [
  // malformed request lines and headers: Node's HTTP parser answers these itself
  ["garbage instead of a request line", () => "\u0001\u0002 not http at all\r\n\r\n", 400],
  ["a malformed protocol version", () => `GET / HTTX/1.1\r\nHost: ${hostHeader}\r\n\r\n`, 400],
  ["an unknown method", () => "BREW /rpc HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["a space in the target", () => `GET /api/get Status HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`, 400],
  ["HTTP/1.1 without a Host header", () => "GET /api/getStatus HTTP/1.1\r\n\r\n", 400],
  ["a header line without a colon", () => `GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nbroken\r\n\r\n`, 400],
  ["32 KiB of headers", () => get("/api/getStatus", { "X-Big": "a".repeat(32 * 1024) }), 431],
  [
    "10,000 header lines",
    () => get("/", Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x-${i}`, "1"]))),
    431,
  ],
  [
    "a Content-Length that is not a number",
    () =>
      `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
    400,
  ],
  [
    "both Content-Length and chunked (request smuggling)",
    () =>
      `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  // request targets
  ["a truncated percent-escape in a REST path", () => get("/api/%E0%A4%A"), 400],
  ["a non-UTF-8 escape in a REST query", () => get("/api/getBlock?id=%FF"), 400],
  ["an absolute-form target", () => get("http://evil.example/api/getStatus"), 400],
  ["a repeated REST parameter", () => get("/api/getBlock?id=1&id=2"), 400],
  ["a dot-dot path", () => get("/api/../../etc/passwd"), 404],
  ["an Object.prototype name as REST method", () => get("/api/__proto__"), 404],
  // Host and method
  ["a rebinding Host on the dashboard", () => get("/", { Host: "rebind.attacker.example" }), 403],
  [
    "a rebinding Host on REST",
    () => httpRequest("GET", "/api/getStatus", { Host: "127.0.0.1.attacker.example" }),
    403,
  ],
  ["the configured vhost", () => httpRequest("GET", "/api/getStatus", { Host: "node.example.test:80" }), 200],
  ["DELETE on /rpc", () => httpRequest("DELETE", "/rpc", { Host: hostHeader }), 405],
  [
    "OPTIONS (a CORS preflight) on /rpc",
    () => httpRequest("OPTIONS", "/rpc", { Host: hostHeader, Origin: "http://evil.example" }),
    405,
  ],
  // bodies
  [
    "a text/plain POST (cross-origin simple request)",
    () => post(rpcBody("getStatus", []), { "Content-Type": "text/plain" }),
    415,
  ],
  ["a form POST", () => post("a=1", { "Content-Type": "application/x-www-form-urlencoded" }), 415],
  ["a body over 1 MiB", () => post(`"${"a".repeat(1024 * 1024 + 10)}"`), 413],
  [
    "a chunked body over 1 MiB (no Content-Length to refuse early)",
    () => {
      const chunk = `10000\r\n${"a".repeat(0x10000)}\r\n`;
      return `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(17)}0\r\n\r\n`;
    },
    413,
  ],
  ["bad JSON", () => post('{"jsonrpc":'), 200, -32700],
  [
    "a body of bytes that are not UTF-8",
    () =>
      Buffer.concat([
        Buffer.from(
          `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`,
        ),
        Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      ]),
    200,
    -32700,
  ],
  ["a JSON number", () => post("42"), 200, -32600],
  ["a JSON string", () => post('"getStatus"'), 200, -32600],
  ["null", () => post("null"), 200, -32600],
  ["an empty batch", () => post("[]"), 200, -32600],
  [
    "a batch of 101",
    () =>
      post(
        JSON.stringify(
          Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "getStatus" })),
        ),
      ),
    200,
    -32600,
  ],
  ["a deeply nested array", () => post(`${"[".repeat(5000)}${"]".repeat(5000)}`), 200],
  ["jsonrpc 1.0", () => post(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "getStatus" })), 200, -32600],
  [
    "an object as id",
    () => post(JSON.stringify({ jsonrpc: "2.0", id: {}, method: "getStatus" })),
    200,
    -32600,
  ],
  ["a number as method", () => post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: 5 })), 200, -32600],
  ["an unknown method", () => post(rpcBody("eth_getBalance", [])), 200, -32601],
  ["__proto__ as method", () => post(rpcBody("__proto__", [])), 200, -32601],
  ["a string as params", () => post(rpcBody("getStatus", "x")), 200, -32602],
  ["too many positional params", () => post(rpcBody("getBlock", ["tip", 1])), 200, -32602],
  ["a number where a string is expected", () => post(rpcBody("getBlock", [5])), 200, -32602],
  [
    "an object where a string is expected",
    () => post(rpcBody("getAccount", { address: { x: 1 } })),
    200,
    -32602,
  ],
  ["a malformed address", () => post(rpcBody("getAccount", ["qrt1notanaddress"])), 200, -32602],
  ["a huge height", () => post(rpcBody("getBlock", ["99999999999999999999999"])), 200, -32004],
  ["a negative count", () => post(rpcBody("getRecentBlocks", [-1])), 200, -32602],
  ["a fractional limit", () => post(rpcBody("getSecurityLog", [1.5])), 200, -32602],
  [
    "a count as a huge string",
    () => post(rpcBody("getRecentBlocks", { count: "9".repeat(400) })),
    200,
    -32602,
  ],
  ["an unknown named param", () => post(rpcBody("getStatus", { verbose: true })), 200, -32602],
  [
    "__proto__ as a named param",
    () => post('{"jsonrpc":"2.0","id":1,"method":"getBlock","params":{"__proto__":{"id":"tip"}}}'),
    200,
    -32602,
  ],
  ["a write without the token", () => post(rpcBody("sendRawTransaction", ["00"])), 401, -32001],
  [
    "a wrong token",
    () => post(rpcBody("stop", []), { Authorization: `Bearer ${"0".repeat(64)}` }),
    401,
    -32001,
  ],
  ["a REST call with a bad type", () => get("/api/getRecentBlocks?count=abc"), 400],
  ["a REST call with an unknown parameter", () => get("/api/getStatus?x=1"), 400],
  ["a REST write method", () => get("/api/stop"), 404],
];

describe("the API against a hostile client (raw socket, real node)", () => {
  it.each(HOSTILE)(
    "%s: a 4xx (or 200 with a JSON-RPC error), never a 500",
    async (_what, request, status, rpcCode) => {
      const res = await rawRequest(node.apiUrl, request());
      expect(res.status).toBe(status);
      if (rpcCode !== undefined) {
        const body = JSON.parse(res.body) as { error?: { code: number } };
        expect(body.error?.code).toBe(rpcCode);
      }
    },
  );

  it("a client that sends half a body and hangs up gets nothing, and nothing is logged as a failure", async () => {
    const socket = connect({ host: "127.0.0.1", port: Number(new URL(node.apiUrl).port) });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.write(
      `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc":`,
      () => socket.destroy(),
    );
    await closed;
    // the node still answers (and the last test checks the log)
    expect((await rawRequest(node.apiUrl, get("/api/getStatus"))).status).toBe(200);
  });

  it("a body over the limit gets its 413 while the client is still sending; the rest is drained and the connection serves the next request", async () => {
    const conn = openConnection();
    const size = 2 * 1024 * 1024;
    conn.socket.write(
      `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
    );
    // the answer comes before a single byte of the body was sent
    await waitFor(() => conn.text().includes("HTTP/1.1 413"), 5_000, "the 413", conn.wake);
    expect(conn.text()).not.toMatch(/connection: close/i);
    conn.socket.write("a".repeat(size));
    conn.socket.write(get("/api/getStatus").replace(/Connection: close\r\n/i, ""));
    await waitFor(
      () => conn.text().includes("HTTP/1.1 200"),
      10_000,
      "getStatus on the same connection",
      conn.wake,
    );
    expect(conn.closedEarly()).toBe(false);
    conn.socket.destroy();
  });

  it("a refused body beyond 16 MiB is not drained for ever: the server cuts the connection", async () => {
    const conn = openConnection();
    conn.socket.write(
      `POST /rpc HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
    );
    await waitFor(() => conn.text().includes("HTTP/1.1 413"), 5_000, "the 413", conn.wake);
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    let refused = false; // a write after the server cut the connection fails
    while (!refused && sent < 64) {
      refused = await new Promise<boolean>((resolve) => conn.socket.write(mib, (err) => resolve(!!err)));
      if (!refused) sent++;
    }
    await waitFor(() => conn.closedEarly(), 10_000, "the server to cut the connection", conn.wake);
    expect(sent).toBeLessThan(64);
    expect(sent).toBeGreaterThanOrEqual(16);
  });

  it("after all of it: no 500, no handler failure in the log, and the node still answers", async () => {
    const failures = node
      .logLines()
      .filter((l) => l.msg === "api handler failed" || l.msg === "rpc method failed");
    expect(failures).toEqual([]);
    const res = await rawRequest(node.apiUrl, get("/api/getStatus"));
    expect(res.status).toBe(200);
    expect(node.running).toBe(true);
  });
});

/** A raw connection to the node's API: everything it received so far, and whether it closed. */
function openConnection() {
  const socket = connect({ host: "127.0.0.1", port: Number(new URL(node.apiUrl).port) });
  let received = "";
  let closed = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
    notify();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
    notify();
  });
  return {
    socket,
    text: () => received,
    closedEarly: () => closed,
    wake: {
      wakeOn: (wake: () => void) => {
        listeners.add(wake);
        return () => listeners.delete(wake);
      },
    },
  };
}
