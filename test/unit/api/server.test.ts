import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RpcError, RpcErrorCode, type RpcMethodTable } from "../../../src/api/rpc.js";
import { ApiServer, COOKIE_FILE, ENDPOINT_FILE } from "../../../src/api/server.js";
import { httpRequest, rawRequest } from "../../helpers/raw-http.js";
import { tempDir } from "../../helpers/temp-dir.js";

let dir: ReturnType<typeof tempDir>;
let server: ApiServer;
const calls: string[] = [];

const methods: RpcMethodTable = {
  echo: {
    summary: "echo",
    readOnly: true,
    params: ["a", "x"],
    handler: async (p) => ({ got: p, big: 2n ** 70n }),
  },
  missing: {
    summary: "always not found",
    readOnly: true,
    handler: async () => {
      throw new RpcError(RpcErrorCode.NOT_FOUND, "nothing here");
    },
  },
  write: {
    summary: "changes state",
    readOnly: false,
    params: ["value"],
    handler: async (p) => {
      calls.push(String(p.value));
      return "ok";
    },
  },
};

beforeEach(async () => {
  dir = tempDir();
  calls.length = 0;
  server = new ApiServer({ host: "127.0.0.1", port: 0, datadir: dir.path, maxBodyBytes: 4096 }, { methods });
  await server.start();
});

afterEach(async () => {
  await server.stop();
  dir.cleanup();
});

async function rpc(
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const token = () => readFileSync(join(dir.path, COOKIE_FILE), "utf8").trim();

describe("API server", () => {
  it("writes the cookie (0600) and the endpoint file for the CLI, and removes them on stop", async () => {
    expect(statSync(join(dir.path, COOKIE_FILE)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir.path, ENDPOINT_FILE), "utf8")).url).toBe(server.url);
    await server.stop();
    expect(() => statSync(join(dir.path, COOKIE_FILE))).toThrow();
  });

  it("answers JSON-RPC 2.0 read methods without a token, bigints as strings", async () => {
    const { json } = await rpc({ jsonrpc: "2.0", id: 1, method: "echo", params: { a: "b" } });
    expect(json).toEqual({ jsonrpc: "2.0", id: 1, result: { got: { a: "b" }, big: (2n ** 70n).toString() } });
  });

  it("refuses a state-changing method without the token (401, UNAUTHORIZED) and runs it with", async () => {
    const denied = await rpc({ jsonrpc: "2.0", id: 2, method: "write", params: { value: "x" } });
    expect(denied.status).toBe(401);
    expect((denied.json.error as { code: number }).code).toBe(RpcErrorCode.UNAUTHORIZED);
    const wrong = await rpc(
      { jsonrpc: "2.0", id: 2, method: "write", params: { value: "x" } },
      "f".repeat(64),
    );
    expect(wrong.status).toBe(401);
    expect(calls).toEqual([]);
    const allowed = await rpc({ jsonrpc: "2.0", id: 3, method: "write", params: { value: "y" } }, token());
    expect(allowed.json.result).toBe("ok");
    expect(calls).toEqual(["y"]);
  });

  it("refuses an oversized body with 413 before running anything", async () => {
    const res = await fetch(`${server.url}/rpc`, {
      method: "POST",
      headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "write", params: { value: "z".repeat(10_000) } }),
    });
    expect(res.status).toBe(413);
    expect(calls).toEqual([]);
  });

  it.each([
    ["PARSE_ERROR", "{not json", RpcErrorCode.PARSE_ERROR],
    ["INVALID_REQUEST", { id: 1, method: "echo" }, RpcErrorCode.INVALID_REQUEST],
    ["METHOD_NOT_FOUND", { jsonrpc: "2.0", id: 1, method: "nope" }, RpcErrorCode.METHOD_NOT_FOUND],
    [
      "INVALID_PARAMS (more positions than the method has)",
      { jsonrpc: "2.0", id: 1, method: "echo", params: [1, 2, 3] },
      RpcErrorCode.INVALID_PARAMS,
    ],
    [
      "INVALID_PARAMS (a name the method does not have)",
      { jsonrpc: "2.0", id: 1, method: "echo", params: { b: 1 } },
      RpcErrorCode.INVALID_PARAMS,
    ],
  ])("answers %s with its JSON-RPC error code", async (_name, body, code) => {
    const { json } = await rpc(body);
    expect((json.error as { code: number }).code).toBe(code);
  });

  it("serves read-only methods as REST GETs, and not the others", async () => {
    const ok = await fetch(`${server.url}/api/echo?x=1`);
    expect(await ok.json()).toMatchObject({ got: { x: "1" } });
    expect((await fetch(`${server.url}/api/write`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/missing`)).status).toBe(404);
  });

  it("METHOD_NOT_FOUND for names of Object.prototype, over RPC and REST", async () => {
    for (const method of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const { status, json } = await rpc({ jsonrpc: "2.0", id: 1, method }, token());
      expect(status).toBe(200);
      expect((json.error as { code: number }).code).toBe(RpcErrorCode.METHOD_NOT_FOUND);
      expect((await fetch(`${server.url}/api/${method}`)).status).toBe(404);
    }
  });
});

describe("API server: pages and metrics", () => {
  it("serves static pages with their headers, and /metrics with the given content type", async () => {
    const d = tempDir();
    const s = new ApiServer(
      { host: "127.0.0.1", port: 0, datadir: d.path },
      {
        methods,
        metrics: async () => "quarry_chain_height 7\n",
        metricsContentType: "text/plain; version=0.0.4; charset=utf-8",
        pages: { "/": { contentType: "text/html", body: "<p>hi</p>", headers: { "x-test": "1" } } },
      },
    );
    await s.start();
    try {
      const page = await fetch(`${s.url}/`);
      expect(page.headers.get("content-type")).toBe("text/html");
      expect(page.headers.get("x-test")).toBe("1");
      expect(await page.text()).toBe("<p>hi</p>");
      const metrics = await fetch(`${s.url}/metrics`);
      expect(metrics.headers.get("content-type")).toContain("version=0.0.4");
      expect(await metrics.text()).toBe("quarry_chain_height 7\n");
      expect((await fetch(`${s.url}/other`)).status).toBe(404);
    } finally {
      await s.stop();
      d.cleanup();
    }
  });
});

describe("API server: request guards", () => {
  const host = () => new URL(server.url).host;
  const get = (target: string, hostHeader = host()) =>
    rawRequest(server.url, httpRequest("GET", target, { Host: hostHeader }));

  it.each(["/", "/api/echo", "/metrics", "/nope"])(
    "HOST_NOT_ALLOWED: a Host outside the allow-list gets 403 on %s (DNS rebinding)",
    async (path) => {
      const res = await get(path, `rebind.attacker.example:${new URL(server.url).port}`);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error).toContain("--api-vhosts");
    },
  );

  it("HOST_NOT_ALLOWED: a POST /rpc from a rebinding Host is not run", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "write", params: { value: "rebind" } });
    const res = await rawRequest(
      server.url,
      httpRequest(
        "POST",
        "/rpc",
        {
          Host: "rebind.attacker.example",
          "Content-Type": "application/json",
          Authorization: `Bearer ${token()}`,
        },
        body,
      ),
    );
    expect(res.status).toBe(403);
    expect(calls).toEqual([]);
  });

  it.each(["localhost", "LOCALHOST:1", "127.0.0.1", "[::1]:7331", "[0:0:0:0:0:0:0:1]"])(
    "answers the default allowed Host %s",
    async (hostHeader) => {
      expect((await get("/api/echo", hostHeader)).status).toBe(200);
    },
  );

  it("answers configured vhosts, and any Host with '*'", async () => {
    const d = tempDir();
    const named = new ApiServer(
      { host: "127.0.0.1", port: 0, datadir: d.path, vhosts: ["node.example.test"] },
      { methods },
    );
    const any = new ApiServer({ host: "127.0.0.1", port: 0, datadir: d.path, vhosts: ["*"] }, { methods });
    await named.start();
    await any.start();
    try {
      const at = (s: ApiServer, h: string) => rawRequest(s.url, httpRequest("GET", "/api/echo", { Host: h }));
      expect((await at(named, "node.example.test:8080")).status).toBe(200);
      expect((await at(named, "other.example.test")).status).toBe(403);
      expect((await at(any, "anything.example")).status).toBe(200);
    } finally {
      await named.stop();
      await any.stop();
      d.cleanup();
    }
  });

  it.each([
    ["a truncated UTF-8 escape in the path", "/api/%E0%A4%A"],
    ["a non-UTF-8 escape in the path", "/api/%FF"],
    ["a '%' without two hex digits", "/api/echo%"],
    ["a bad escape in the query", "/api/echo?x=%G1"],
    ["a repeated query parameter", "/api/echo?x=1&x=2"],
    ["an absolute-form target", "http://localhost/api/echo"],
    ["a target that is not a path", "*"],
    ["a non-ASCII byte in the target", "/api/ech\u00f6"],
  ])("BAD_REQUEST_TARGET: %s is 400, not 500", async (_what, target) => {
    const res = await get(target);
    expect(res.status).toBe(400);
    // Node's own parser refuses some targets before our handler (with an empty body)
    if (res.headers["content-type"] === "application/json")
      expect(JSON.parse(res.body)).toHaveProperty("error");
  });

  it.each([
    ["text/plain (a cross-origin 'simple' POST)", "text/plain;charset=UTF-8"],
    ["a form encoding", "application/x-www-form-urlencoded"],
    ["no Content-Type", undefined],
    ["JSON in another charset", "application/json; charset=latin1"],
  ])("UNSUPPORTED_MEDIA_TYPE: a POST with %s is 415 and not run", async (_what, type) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "write", params: { value: "x" } });
    const headers: Record<string, string> = { Host: host(), Authorization: `Bearer ${token()}` };
    if (type) headers["Content-Type"] = type;
    const res = await rawRequest(server.url, httpRequest("POST", "/rpc", headers, body));
    expect(res.status).toBe(415);
    expect(calls).toEqual([]);
  });

  it("accepts application/json with a UTF-8 charset, in any case", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo" });
    const res = await rawRequest(
      server.url,
      httpRequest("POST", "/rpc", { Host: host(), "Content-Type": "Application/JSON; charset=UTF-8" }, body),
    );
    expect(res.status).toBe(200);
  });

  it("METHOD_NOT_ALLOWED: a known path with another method is 405 with Allow", async () => {
    const put = await rawRequest(server.url, httpRequest("PUT", "/rpc", { Host: host() }, "{}"));
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("POST");
    const post = await rawRequest(server.url, httpRequest("POST", "/api/echo", { Host: host() }, "{}"));
    expect(post.status).toBe(405);
  });
});
