import { describe, expect, it } from "vitest";
import { RpcErrorCode, type RpcMethodTable, type RpcParams } from "../../../src/api/rpc.js";
import { dispatchRpc, MAX_BATCH_REQUESTS } from "../../../src/api/rpc-dispatch.js";

const ran: RpcParams[] = [];
const methods: RpcMethodTable = {
  none: { summary: "no parameters", readOnly: true, handler: async () => "none" },
  pair: {
    summary: "two parameters",
    readOnly: true,
    params: ["first", "second"],
    handler: async (p) => {
      ran.push(p);
      return p;
    },
  },
  write: { summary: "needs the token", readOnly: false, handler: async () => "written" },
  broken: {
    summary: "a bug",
    readOnly: true,
    handler: async () => {
      throw new Error("boom");
    },
  },
};

const internal: unknown[] = [];
function dispatch(message: unknown, authorised = false) {
  return dispatchRpc(message, {
    lookup: (name) => (Object.hasOwn(methods, name) ? methods[name] : undefined),
    authorised,
    onInternalError: (err) => internal.push(err),
  });
}
const call = (id: unknown, method: string, params?: unknown) => ({
  jsonrpc: "2.0",
  id,
  method,
  ...(params === undefined ? {} : { params }),
});

describe("JSON-RPC 2.0 dispatch", () => {
  it("positional params: [] for a method without parameters", async () => {
    expect((await dispatch(call(7, "none", []))).body).toEqual({ jsonrpc: "2.0", id: 7, result: "none" });
  });

  it("positional params map onto the method's names in order; null and missing positions are absent", async () => {
    expect((await dispatch(call(1, "pair", ["a", "b"]))).body).toMatchObject({
      result: { first: "a", second: "b" },
    });
    expect((await dispatch(call(2, "pair", [null, "b"]))).body).toMatchObject({ result: { second: "b" } });
    expect((await dispatch(call(3, "pair", ["a"]))).body).toMatchObject({ result: { first: "a" } });
  });

  it.each([
    ["more positions than the method has", call("x", "pair", [1, 2, 3])],
    ["any position for a method without parameters", call("x", "none", [1])],
    ["an unknown name", call("x", "pair", { third: 1 })],
    ["params that are neither array nor object", call("x", "pair", "a")],
  ])("INVALID_PARAMS for %s, with the request's id", async (_what, request) => {
    expect((await dispatch(request)).body).toMatchObject({
      id: "x",
      error: { code: RpcErrorCode.INVALID_PARAMS },
    });
  });

  it.each([
    ["METHOD_NOT_FOUND", call(5, "nope"), RpcErrorCode.METHOD_NOT_FOUND],
    ["INVALID_REQUEST (no jsonrpc)", { id: 5, method: "none" }, RpcErrorCode.INVALID_REQUEST],
    [
      "INVALID_REQUEST (method not a string)",
      { jsonrpc: "2.0", id: 5, method: 1 },
      RpcErrorCode.INVALID_REQUEST,
    ],
    ["INTERNAL_ERROR", call(5, "broken"), RpcErrorCode.INTERNAL_ERROR],
  ])("%s answers the request's id", async (_what, request, code) => {
    expect((await dispatch(request)).body).toMatchObject({ id: 5, error: { code } });
  });

  it("UNAUTHORIZED: HTTP 401 for a single request, with its id; runs with the token", async () => {
    expect(await dispatch(call("w", "write"))).toMatchObject({
      status: 401,
      body: { id: "w", error: { code: RpcErrorCode.UNAUTHORIZED } },
    });
    expect((await dispatch(call("w", "write"), true)).body).toMatchObject({ id: "w", result: "written" });
  });

  it("INVALID_REQUEST with id null when the id itself is invalid or the request is not an object", async () => {
    for (const request of [call({ a: 1 }, "none"), call([1], "none"), 1, "x", null]) {
      expect((await dispatch(request)).body).toMatchObject({
        id: null,
        error: { code: RpcErrorCode.INVALID_REQUEST },
      });
    }
  });

  it("a notification (no id member) runs and gets no body (HTTP 204), even when it fails", async () => {
    ran.length = 0;
    expect(await dispatch({ jsonrpc: "2.0", method: "pair", params: ["n"] })).toEqual({
      status: 204,
      body: undefined,
    });
    expect(ran).toEqual([{ first: "n" }]);
    expect((await dispatch({ jsonrpc: "2.0", method: "nope" })).status).toBe(204);
  });

  it("id: null is a request, not a notification", async () => {
    expect((await dispatch(call(null, "none"))).body).toEqual({ jsonrpc: "2.0", id: null, result: "none" });
  });

  it("a batch is answered with an array in order, notifications left out, errors per element", async () => {
    const reply = await dispatch([
      call(1, "none"),
      { jsonrpc: "2.0", method: "none" },
      call(2, "nope"),
      1,
      call(3, "pair", ["a"]),
      call(4, "write"),
    ]);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      { jsonrpc: "2.0", id: 1, result: "none" },
      { jsonrpc: "2.0", id: 2, error: expect.objectContaining({ code: RpcErrorCode.METHOD_NOT_FOUND }) },
      { jsonrpc: "2.0", id: null, error: expect.objectContaining({ code: RpcErrorCode.INVALID_REQUEST }) },
      { jsonrpc: "2.0", id: 3, result: { first: "a" } },
      { jsonrpc: "2.0", id: 4, error: expect.objectContaining({ code: RpcErrorCode.UNAUTHORIZED }) },
    ]);
  });

  it("INVALID_REQUEST: an empty batch is one error object, not an array", async () => {
    expect(await dispatch([])).toEqual({
      status: 200,
      body: {
        jsonrpc: "2.0",
        id: null,
        error: expect.objectContaining({ code: RpcErrorCode.INVALID_REQUEST }),
      },
    });
  });

  it("a batch of notifications only gets no body", async () => {
    expect(
      await dispatch([
        { jsonrpc: "2.0", method: "none" },
        { jsonrpc: "2.0", method: "none", params: [] },
      ]),
    ).toEqual({ status: 204, body: undefined });
  });

  it("INVALID_REQUEST: a batch larger than MAX_BATCH_REQUESTS runs nothing", async () => {
    ran.length = 0;
    const batch = Array.from({ length: MAX_BATCH_REQUESTS + 1 }, (_, i) => call(i, "pair", ["x"]));
    expect((await dispatch(batch)).body).toMatchObject({
      id: null,
      error: { code: RpcErrorCode.INVALID_REQUEST },
    });
    expect(ran).toEqual([]);
  });

  it("reports thrown non-RpcErrors (bugs) to onInternalError", async () => {
    internal.length = 0;
    await dispatch(call(1, "broken"));
    expect(internal).toHaveLength(1);
  });
});
