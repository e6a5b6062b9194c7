import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import {
  buildOpenApiDocument,
  OpenApiCoverageError,
  type RpcMethodTable,
  schemaCoverageProblems,
} from "../../../src/api/index.js";
import { API_VERSION, RPC_SCHEMAS } from "../../../src/node/rpc-schemas.js";

const handler = async () => null;

/** A method table with the names and params of RPC_SCHEMAS (the real table needs a node). */
function tableLike(): RpcMethodTable {
  return Object.fromEntries(
    Object.entries(RPC_SCHEMAS).map(([name, s]) => [
      name,
      { summary: name, readOnly: name.startsWith("get"), params: s.params?.map((p) => p.name), handler },
    ]),
  );
}

describe("RPC schemas and the OpenAPI document", () => {
  it("API_SCHEMA_MISMATCH: a method without a schema, a schema without a method, different params", () => {
    const table = tableLike();
    expect(schemaCoverageProblems(table, RPC_SCHEMAS)).toEqual([]);
    const extra = { ...table, getNothing: { summary: "", readOnly: true, handler } };
    expect(schemaCoverageProblems(extra, RPC_SCHEMAS)).toEqual(["method 'getNothing' has no schema"]);
    expect(() => buildOpenApiDocument(extra, RPC_SCHEMAS, { title: "t", version: "1" })).toThrow(
      OpenApiCoverageError,
    );
    const { getStatus: _, ...fewer } = table;
    expect(schemaCoverageProblems(fewer, RPC_SCHEMAS)).toEqual(["schema 'getStatus' names no method"]);
    const reordered = { ...table, banPeer: { ...table.banPeer!, params: ["seconds", "target", "reason"] } };
    expect(schemaCoverageProblems(reordered, RPC_SCHEMAS)[0]).toContain("method 'banPeer' takes");
  });

  it("the document is valid OpenAPI 3.1 and every schema compiles as JSON Schema 2020-12", async () => {
    const doc = buildOpenApiDocument(tableLike(), RPC_SCHEMAS, { title: "Quarry", version: API_VERSION });
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const schemas = (doc.components as { schemas: Record<string, object> }).schemas;
    for (const [name, schema] of Object.entries(schemas)) {
      expect(() => ajv.compile(schema), name).not.toThrow();
    }
  });
});
