import { QuarryError } from "../util/index.js";
import type { RpcMethodTable } from "./rpc.js";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** One parameter of a method: its JSON-RPC value; REST passes the string form of it. */
export interface ParamSchema {
  name: string;
  required?: boolean;
  schema: JsonSchema;
  description?: string;
}

/** What a method takes (in its positional order) and answers. */
export interface MethodSchema {
  params?: readonly ParamSchema[];
  result: JsonSchema;
}

/** Why a schema table and a method table disagree (the node refuses to start on it). */
export class OpenApiCoverageError extends QuarryError<{ code: "API_SCHEMA_MISMATCH" }> {
  constructor(readonly problems: readonly string[]) {
    super({ code: "API_SCHEMA_MISMATCH" }, `RPC schemas and methods disagree: ${problems.join("; ")}`);
  }
}

/**
 * What differs between the registered methods and their schemas: a method without a schema, a
 * schema naming no method, or parameter names (or their order) that differ. Empty: they agree.
 */
export function schemaCoverageProblems(
  methods: RpcMethodTable,
  schemas: Readonly<Record<string, MethodSchema>>,
): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(methods)) {
    const schema = schemas[name];
    if (!Object.hasOwn(schemas, name) || !schema) {
      problems.push(`method '${name}' has no schema`);
      continue;
    }
    const declared = (methods[name]!.params ?? []).join(",");
    const described = (schema.params ?? []).map((p) => p.name).join(",");
    if (declared !== described)
      problems.push(`method '${name}' takes [${declared}] but its schema lists [${described}]`);
  }
  for (const name of Object.keys(schemas)) {
    if (!Object.hasOwn(methods, name)) problems.push(`schema '${name}' names no method`);
  }
  return problems;
}

/** The string form of a parameter's schema, as a REST query value. */
function querySchema(schema: JsonSchema): JsonSchema {
  if (schema.type === "string") return schema;
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return branches?.find((b) => b.type === "string") ?? { type: "string" };
}

function paramsObject(method: MethodSchema): JsonSchema {
  const params = method.params ?? [];
  return {
    type: "object",
    properties: Object.fromEntries(
      params.map((p) => [p.name, p.description ? { ...p.schema, description: p.description } : p.schema]),
    ),
    required: params.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

const restError: JsonSchema = {
  type: "object",
  properties: { error: { type: "string" }, data: {} },
  required: ["error"],
};

const rpcError: JsonSchema = {
  type: "object",
  properties: {
    code: { type: "integer" },
    message: { type: "string" },
    data: {},
  },
  required: ["code", "message"],
};

/**
 * The OpenAPI 3.1 description of the API (served at GET /openapi.json): a REST GET path per
 * read-only method, the JSON-RPC endpoint with one request schema per method, and per method
 * `components.schemas["<name>.params"]` and `["<name>.result"]`. Throws OpenApiCoverageError
 * when `schemas` and `methods` disagree, so a method cannot go undescribed.
 */
export function buildOpenApiDocument(
  methods: RpcMethodTable,
  schemas: Readonly<Record<string, MethodSchema>>,
  info: { title: string; version: string; description?: string },
): Record<string, unknown> {
  const problems = schemaCoverageProblems(methods, schemas);
  if (problems.length > 0) throw new OpenApiCoverageError(problems);
  const names = Object.keys(methods).sort();
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, unknown> = {};
  const requests: JsonSchema[] = [];
  for (const name of names) {
    const method = methods[name]!;
    const schema = schemas[name]!;
    components[`${name}.params`] = paramsObject(schema);
    components[`${name}.result`] = schema.result;
    const ref = (what: string) => ({ $ref: `#/components/schemas/${name}.${what}` });
    requests.push({
      type: "object",
      title: name,
      properties: {
        jsonrpc: { const: "2.0" },
        id: { type: ["string", "number", "null"] },
        method: { const: name },
        params: {
          anyOf: [ref("params"), { type: "array", maxItems: schema.params?.length ?? 0 }, { type: "null" }],
        },
      },
      required: ["jsonrpc", "method"],
      "x-token-required": !method.readOnly,
    });
    if (!method.readOnly) continue;
    paths[`/api/${name}`] = {
      get: {
        operationId: name,
        summary: method.summary,
        tags: ["REST (read-only methods)"],
        parameters: (schema.params ?? []).map((p) => ({
          name: p.name,
          in: "query",
          required: p.required ?? false,
          schema: querySchema(p.schema),
          ...(p.description ? { description: p.description } : {}),
        })),
        responses: {
          "200": {
            description: "the method's result (no JSON-RPC envelope)",
            content: { "application/json": { schema: ref("result") } },
          },
          "400": { description: "a bad parameter", content: { "application/json": { schema: restError } } },
          "404": { description: "not found", content: { "application/json": { schema: restError } } },
          "503": {
            description: "the store failed (the chain is halted)",
            content: { "application/json": { schema: restError } },
          },
        },
      },
    };
  }
  paths["/rpc"] = {
    post: {
      operationId: "jsonRpc",
      summary:
        "JSON-RPC 2.0: one request or a batch of up to 100; methods marked x-token-required need the cookie token",
      tags: ["JSON-RPC"],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              anyOf: [
                { oneOf: requests },
                { type: "array", minItems: 1, maxItems: 100, items: { oneOf: requests } },
              ],
            },
          },
        },
      },
      responses: {
        "200": {
          description:
            "a response (or an array of them for a batch); `result` is the method's components.schemas['<method>.result']",
          content: {
            "application/json": {
              schema: {
                type: "object",
                properties: {
                  jsonrpc: { const: "2.0" },
                  id: { type: ["string", "number", "null"] },
                  result: {},
                  error: rpcError,
                },
                required: ["jsonrpc", "id"],
              },
            },
          },
        },
        "204": { description: "notifications only: no body" },
        "401": { description: "a state-changing method without the token" },
      },
      security: [{}, { cookieToken: [] }],
    },
  };
  paths["/openapi.json"] = {
    get: {
      operationId: "openApi",
      summary: "this document",
      responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: {} } } } },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      version: info.version,
      ...(info.description ? { description: info.description } : {}),
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        cookieToken: {
          type: "http",
          scheme: "bearer",
          description: "the token in <datadir>/api.cookie, new on every start",
        },
      },
    },
  };
}
