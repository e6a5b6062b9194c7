import { randomBytes, timingSafeEqual } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Logger, silentLogger, writeFileAtomic } from "../util/index.js";
import type { EventHub } from "./event-hub.js";
import { checkJsonContentType, HostAllowList, HttpError, parseRequestTarget } from "./request-guards.js";
import { namedParams, RpcError, RpcErrorCode, type RpcMethod, type RpcMethodTable, toJson } from "./rpc.js";
import { dispatchRpc } from "./rpc-dispatch.js";

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** where `api.cookie` (the token) and `api.json` (the URL) are written for the CLI */
  datadir: string;
  maxBodyBytes?: number;
  /**
   * Host header names answered besides localhost, 127.0.0.1, ::1 and the bound address; `*`
   * answers any (see HostAllowList). Other Hosts get 403.
   */
  vhosts?: readonly string[];
}

export interface ApiServerDeps {
  methods: RpcMethodTable;
  /** Prometheus text exposition for GET /metrics */
  metrics?: () => Promise<string>;
  /** its content type (prom-client's registry.contentType); default the 0.0.4 text format */
  metricsContentType?: string;
  /** the live event stream served at GET /events (Server-Sent Events); ended on stop */
  events?: EventHub;
  /** the OpenAPI 3.1 description served at GET /openapi.json (openapi.ts) */
  openapi?: Record<string, unknown>;
  /** static pages, e.g. the dashboard at / (see dashboard.ts) */
  pages?: Record<string, { contentType: string; body: string; headers?: Record<string, string> }>;
  log?: Logger;
}

export const COOKIE_FILE = "api.cookie";
export const ENDPOINT_FILE = "api.json";
const DEFAULT_MAX_BODY = 1024 * 1024;

/** 405 with the Allow header the status requires (RFC 9110 15.5.6). */
function methodNotAllowed(res: ServerResponse, allow: string): HttpError {
  res.setHeader("allow", allow);
  return new HttpError(405, `method not allowed; use ${allow}`);
}

/**
 * HTTP API on 127.0.0.1 by default: JSON-RPC 2.0 at POST /rpc, REST GETs at /api/<method> for the
 * read-only methods, /metrics, the live event stream at GET /events (event-hub.ts), and static
 * pages. Methods that change state need the token from
 * `<datadir>/api.cookie` (Authorization: Bearer <token>), which is new on every start (bitcoind's
 * cookie scheme). Bodies above maxBodyBytes are refused with 413 before they are read whole.
 */
export class ApiServer {
  private server: Server | undefined;
  private token = "";
  private boundUrl = "";
  private readonly log: Logger;
  private hosts: HostAllowList | undefined;

  constructor(
    private readonly opts: ApiServerOptions,
    private readonly deps: ApiServerDeps,
  ) {
    this.log = deps.log ?? silentLogger;
  }

  get url(): string {
    return this.boundUrl;
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.token = randomBytes(32).toString("hex");
    this.deps.events?.open();
    // 16 KiB of headers at most, whatever NODE_OPTIONS says; past that Node answers 431 itself.
    const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err }, "api handler failed");
        if (!res.headersSent) this.send(res, 500, { error: "internal error" });
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        // before the first connection is accepted: no request is ever answered unchecked
        this.hosts = new HostAllowList(this.opts.vhosts ?? [], (server.address() as AddressInfo).address);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.boundUrl = `http://${host}:${address.port}`;
    const dir = this.opts.datadir;
    await writeFileAtomic({
      path: join(dir, COOKIE_FILE),
      data: `${this.token}\n`,
      mode: 0o600,
      overwrite: true,
    });
    const endpoint = `${JSON.stringify({ url: this.boundUrl })}\n`;
    await writeFileAtomic({ path: join(dir, ENDPOINT_FILE), data: endpoint, mode: 0o600, overwrite: true });
    this.log.info({ url: this.boundUrl }, "api listening");
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    rmSync(join(this.opts.datadir, ENDPOINT_FILE), { force: true });
    rmSync(join(this.opts.datadir, COOKIE_FILE), { force: true });
    // event streams end with a final frame before their sockets close
    this.deps.events?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.hosts) throw new HttpError(503, "not started");
      this.hosts.check(req.headers.host);
      const { path, query } = parseRequestTarget(req.url ?? "");
      const method = req.method === "HEAD" ? "GET" : req.method;
      if (path === "/rpc" || (path === "/" && method === "POST")) {
        if (method !== "POST") throw methodNotAllowed(res, "POST");
        checkJsonContentType(req.headers["content-type"]);
        await this.handleRpc(req, res);
      } else if (path.startsWith("/api/")) {
        if (method !== "GET") throw methodNotAllowed(res, "GET, HEAD");
        await this.handleRest(path.slice("/api/".length), query, res);
      } else if (path === "/events" && this.deps.events) {
        if (req.method !== "GET") throw methodNotAllowed(res, "GET");
        this.deps.events.subscribe(req, res, query);
      } else if (path === "/metrics" && this.deps.metrics) {
        if (method !== "GET") throw methodNotAllowed(res, "GET, HEAD");
        const body = await this.deps.metrics();
        res.writeHead(200, {
          "content-type": this.deps.metricsContentType ?? "text/plain; version=0.0.4; charset=utf-8",
        });
        res.end(body);
      } else if (path === "/openapi.json" && this.deps.openapi) {
        if (method !== "GET") throw methodNotAllowed(res, "GET, HEAD");
        this.send(res, 200, this.deps.openapi);
      } else if (this.page(path)) {
        if (method !== "GET") throw methodNotAllowed(res, path === "/" ? "GET, HEAD, POST" : "GET, HEAD");
        const page = this.page(path)!;
        res.writeHead(200, { ...page.headers, "content-type": page.contentType });
        res.end(page.body);
      } else {
        throw new HttpError(404, `no route ${path.slice(0, 200)}`);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        this.send(res, err.status, {
          error: err.message,
          ...(err.data === undefined ? {} : { data: err.data }),
        });
      } else throw err;
    }
  }

  private page(path: string) {
    const pages = this.deps.pages;
    return pages && Object.hasOwn(pages, path) ? pages[path] : undefined;
  }

  private async handleRest(name: string, query: Record<string, string>, res: ServerResponse): Promise<void> {
    const method = this.lookup(name);
    if (!method?.readOnly) throw new HttpError(404, `no read-only method '${name.slice(0, 64)}'`);
    try {
      this.send(res, 200, await method.handler(namedParams(name, method, query)));
    } catch (err) {
      if (err instanceof RpcError) {
        const status =
          err.type.rpcCode === RpcErrorCode.NOT_FOUND
            ? 404
            : err.type.rpcCode === RpcErrorCode.STORE_FAILED
              ? 503
              : 400;
        this.send(res, status, {
          error: err.message,
          ...(err.type.data === undefined ? {} : { data: err.type.data }),
        });
      } else throw err;
    }
  }

  private async handleRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readBody(req);
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      this.send(res, 200, {
        jsonrpc: "2.0",
        id: null,
        error: { code: RpcErrorCode.PARSE_ERROR, message: "body is not valid JSON" },
      });
      return;
    }
    const reply = await dispatchRpc(message, {
      lookup: (name) => this.lookup(name),
      authorised: this.authorised(req),
      onInternalError: (err, method) => this.log.error({ err, method }, "rpc method failed"),
    });
    if (reply.body === undefined) {
      res.writeHead(204);
      res.end();
    } else {
      this.send(res, reply.status, reply.body);
    }
  }

  // Own properties only: a method named "toString" or "__proto__" must not reach Object.prototype.
  private lookup(name: string): RpcMethod | undefined {
    return Object.hasOwn(this.deps.methods, name) ? this.deps.methods[name] : undefined;
  }

  private authorised(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer ([0-9a-f]{64})$/.exec(header);
    if (!match) return false;
    return timingSafeEqual(Buffer.from(match[1]!), Buffer.from(this.token));
  }

  private readBody(req: IncomingMessage): Promise<string> {
    const limit = this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      discardBody(req);
      return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let ended = false;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.off("data", onData);
          discardBody(req);
          reject(new HttpError(413, `body larger than ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      };
      req.on("data", onData);
      req.on("end", () => {
        ended = true;
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
      // A client that goes away mid-body is not a server failure: nothing to answer, nothing to log.
      const aborted = () => {
        if (!ended) reject(new HttpError(400, "request body aborted"));
      };
      req.on("error", aborted);
      req.on("close", aborted);
    });
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(toJson(body));
  }
}

/** How much of a refused (413) body is read and dropped before the connection is cut. */
const MAX_DISCARD_BYTES = 16 * 1024 * 1024;

/**
 * After a 413 the client is usually still sending the body it was told is too large. Closing the
 * socket then makes the kernel reset it, and the client sees EPIPE instead of our answer. So the
 * rest is read and dropped (nginx's "lingering close"), and the connection stays usable; a body
 * beyond MAX_DISCARD_BYTES cuts it. The server's requestTimeout bounds the time it may take.
 */
function discardBody(req: IncomingMessage): void {
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.resume();
}
