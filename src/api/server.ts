import { randomBytes, timingSafeEqual } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { type Logger, silentLogger } from "../util/logger.js";
import {
  parseRpcRequest,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
  type RpcMethodTable,
  toJson,
} from "./rpc.js";

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  /** where `api.cookie` (the token) and `api.json` (the URL) are written for the CLI */
  datadir: string;
  maxBodyBytes?: number;
}

export interface ApiServerDeps {
  methods: RpcMethodTable;
  /** Prometheus text exposition for GET /metrics */
  metrics?: () => Promise<string>;
  /** its content type (prom-client's registry.contentType); default the 0.0.4 text format */
  metricsContentType?: string;
  /** static pages, e.g. the dashboard at / (see dashboard.ts) */
  pages?: Record<string, { contentType: string; body: string; headers?: Record<string, string> }>;
  log?: Logger;
}

export const COOKIE_FILE = "api.cookie";
export const ENDPOINT_FILE = "api.json";
const DEFAULT_MAX_BODY = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * HTTP API on 127.0.0.1 by default: JSON-RPC 2.0 at POST /rpc, REST GETs at /api/<method> for the
 * read-only methods, /metrics, and static pages. Methods that change state need the token from
 * `<datadir>/api.cookie` (Authorization: Bearer <token>), which is new on every start (bitcoind's
 * cookie scheme). Bodies above maxBodyBytes are refused with 413 before they are read whole.
 */
export class ApiServer {
  private server: Server | undefined;
  private token = "";
  private boundUrl = "";
  private readonly log: Logger;

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
    const server = createServer((req, res) => {
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
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      if (req.method === "POST" && (url.pathname === "/rpc" || url.pathname === "/")) {
        await this.handleRpc(req, res);
      } else if (req.method === "GET" && url.pathname.startsWith("/api/")) {
        await this.handleRest(url, res);
      } else if (req.method === "GET" && url.pathname === "/metrics" && this.deps.metrics) {
        const body = await this.deps.metrics();
        res.writeHead(200, {
          "content-type": this.deps.metricsContentType ?? "text/plain; version=0.0.4; charset=utf-8",
        });
        res.end(body);
      } else if (req.method === "GET" && this.deps.pages?.[url.pathname]) {
        const page = this.deps.pages[url.pathname]!;
        res.writeHead(200, { ...page.headers, "content-type": page.contentType });
        res.end(page.body);
      } else {
        throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      }
    } catch (err) {
      if (err instanceof HttpError) this.send(res, err.status, { error: err.message });
      else throw err;
    }
  }

  private async handleRest(url: URL, res: ServerResponse): Promise<void> {
    const name = decodeURIComponent(url.pathname.slice("/api/".length));
    const method = this.lookup(name);
    if (!method?.readOnly) throw new HttpError(404, `no read-only method '${name}'`);
    const params = Object.fromEntries(url.searchParams.entries());
    try {
      this.send(res, 200, await method.handler(params));
    } catch (err) {
      if (err instanceof RpcError) {
        const status = err.type.rpcCode === RpcErrorCode.NOT_FOUND ? 404 : 400;
        this.send(res, status, {
          error: err.message,
          ...(err.type.data === undefined ? {} : { data: err.type.data }),
        });
      } else throw err;
    }
  }

  private async handleRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let id: string | number | null = null;
    try {
      const body = await this.readBody(req);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new RpcError(RpcErrorCode.PARSE_ERROR, "body is not valid JSON");
      }
      const request = parseRpcRequest(parsed);
      id = request.id;
      const method = this.lookup(request.method);
      if (!method) throw new RpcError(RpcErrorCode.METHOD_NOT_FOUND, `no method '${request.method}'`);
      if (!method.readOnly && !this.authorised(req)) {
        throw new RpcError(
          RpcErrorCode.UNAUTHORIZED,
          `method '${request.method}' needs the token from ${COOKIE_FILE}`,
        );
      }
      const result = await method.handler(request.params);
      this.send(res, 200, { jsonrpc: "2.0", id, result: result ?? null });
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const rpc =
        err instanceof RpcError
          ? err
          : new RpcError(RpcErrorCode.INTERNAL_ERROR, err instanceof Error ? err.message : "internal error");
      if (!(err instanceof RpcError)) this.log.error({ err }, "rpc method failed");
      const status = rpc.type.rpcCode === RpcErrorCode.UNAUTHORIZED ? 401 : 200;
      const error = {
        code: rpc.type.rpcCode,
        message: rpc.message,
        ...(rpc.type.data === undefined ? {} : { data: rpc.type.data }),
      };
      this.send(res, status, { jsonrpc: "2.0", id, error });
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
    if (declared > limit) return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          reject(new HttpError(413, `body larger than ${limit} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(toJson(body));
  }
}
