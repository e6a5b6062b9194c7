import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuarryNode } from "../../src/node.js";
import { encodeTransaction, toHex, transactionId } from "../../src/primitives/index.js";
import { ChainBuilder, testAddress, testKey, transfer } from "../helpers/chain-builder.js";
import { Cluster, dialNode, feedBlocks } from "../helpers/multinode-cluster.js";
import { callRpc, rpcOk } from "../helpers/node-rpc.js";
import { waitFor } from "../helpers/wait.js";

type Doc = {
  paths: Record<string, { get?: { parameters: { name: string; required: boolean }[] } }>;
  components: { schemas: Record<string, object> };
};

/**
 * GET /openapi.json of a real node (createNode, LevelDB, HTTP on 127.0.0.1) is valid OpenAPI 3.1,
 * and the live answer of EVERY read-only method, over REST and over JSON-RPC, validates against
 * the method's result schema in it (ajv, JSON Schema 2020-12). The chain has a transfer, a reorg,
 * a pending transfer, a peer and an address ban, so the arrays the schemas describe are not empty.
 * A read-only method without a call in CALLS fails the test: a new method cannot skip it.
 */
describe("GET /openapi.json against live answers", () => {
  const cluster = new Cluster();
  let node: QuarryNode;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validators = new Map<string, ValidateFunction>();
  const alice = testKey(1);
  const bob = testKey(2);
  let confirmedTx = "";
  let pendingTx = "";
  let blockHash = "";
  /** answers of the write methods called while setting up, checked against their schemas too */
  const writes: [string, unknown][] = [];

  /** Read-only method → the calls made (params by name; REST gets them as strings). */
  let calls: Record<string, Record<string, string | number | boolean>[]>;

  beforeAll(async () => {
    node = await cluster.add({ startProducer: false });
    const peer = await cluster.add({ startProducer: false });
    const main = ChainBuilder.create();
    await main.mine({ miner: alice.address });
    const paid = transfer(alice, bob.address, 1_000n, 0n, 500n);
    confirmedTx = toHex(transactionId(paid));
    await main.mine({ txs: [paid] });
    const fork = main.fork(2);
    await main.mine();
    await main.mine();
    await fork.mine({ miner: bob.address });
    await fork.mine();
    await fork.mine();
    await feedBlocks(node, main.blocks.slice(1));
    await feedBlocks(node, fork.blocks.slice(3));
    expect(node.chain.height).toBe(5);
    expect(node.reorgs.length).toBe(1);
    blockHash = node.chain.entryAtHeight(2)!.hashHex;
    const pending = transfer(alice, bob.address, 7n, 1n, 500n);
    const sent = await rpcOk<{ id: string }>(node, "sendRawTransaction", [toHex(encodeTransaction(pending))]);
    pendingTx = sent.id;
    writes.push(["sendRawTransaction", sent]);
    writes.push([
      "banPeer",
      await rpcOk(node, "banPeer", { target: "192.0.2.7", seconds: 600, reason: "test ban" }),
    ]);
    await dialNode(peer, node);
    await waitFor(() => node.host.connectedPeers().length >= 1, 20_000, "a connected peer");

    const res = await fetch(`${node.api.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as Doc;
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if (name.endsWith(".result")) validators.set(name.slice(0, -".result".length), ajv.compile(schema));
    }
    calls = {
      getStatus: [{}],
      getBlock: [{ id: "tip" }, { id: "2" }, { id: blockHash }],
      getRecentBlocks: [{}, { count: 3 }],
      getTransaction: [
        { id: confirmedTx },
        { id: pendingTx },
        { id: toHex(transactionId(main.block(1).txs[0]!)) },
      ],
      getAccount: [{ address: testAddress(1) }, { address: testAddress(99) }],
      getMempool: [{}, { txs: "1" }],
      getPeers: [{}],
      getBans: [{}],
      getMiningInfo: [{}],
      getReorgs: [{}],
      getSecurityLog: [{}, { limit: 5 }],
      // the old tip of the reorg: a header on a side branch
      getBlockHeader: [{ id: "tip" }, { id: node.reorgs[0]!.oldTip.hash }, { id: "1" }],
      getBlockHash: [{ height: 0 }, { height: 5 }],
      getChainTips: [{}],
      getNetworkInfo: [{}],
      getMempoolEntry: [{ id: pendingTx }],
      estimateFee: [{ nBlocks: 1 }, { nBlocks: 10 }],
      getAddressHistory: [
        { address: testAddress(1) },
        { address: testAddress(2), limit: 1, reverse: true },
        { address: testAddress(1), limit: 1, cursor: "2:1" },
        { address: testAddress(99) },
      ],
    };
  }, 90_000);

  afterAll(() => cluster.stopAll());

  it("is a valid OpenAPI 3.1 document with a params and a result schema per method", async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const name of validators.keys()) expect(doc.components.schemas[`${name}.params`]).toBeDefined();
  });

  it("every read-only method has a test call here, and a REST path in the document", () => {
    const rest = Object.keys(doc.paths)
      .filter((p) => p.startsWith("/api/"))
      .map((p) => p.slice("/api/".length))
      .sort();
    expect(rest.length).toBeGreaterThan(10);
    expect(Object.keys(calls).sort()).toEqual(rest);
  });

  it("every read-only method's live answers validate against its result schema, over REST and JSON-RPC", async () => {
    let checked = 0;
    for (const [name, paramSets] of Object.entries(calls)) {
      const validate = validators.get(name);
      expect(validate, name).toBeDefined();
      for (const params of paramSets) {
        const query = new URLSearchParams(
          Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
        );
        const res = await fetch(`${node.api.url}/api/${name}${query.size ? `?${query}` : ""}`);
        const restBody: unknown = await res.json();
        expect(res.status, `${name} ${query}: ${JSON.stringify(restBody)}`).toBe(200);
        if (!validate!(restBody))
          throw new Error(
            `REST ${name} ${query}: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(restBody)}`,
          );
        const answer = await callRpc(node, name, params, { token: false });
        expect(answer.error, `${name}: ${JSON.stringify(answer.error)}`).toBeUndefined();
        if (!validate!(answer.result))
          throw new Error(
            `RPC ${name}: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(answer.result)}`,
          );
        checked += 2;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2 * Object.keys(calls).length);
  });

  it("bad parameters: the document's params schema refuses them and so does the node (-32602, REST 400)", async () => {
    // per read-only method that takes parameters: values its schema refuses; an unknown name for all
    const bad: Record<string, Record<string, unknown>[]> = {
      getBlock: [{ id: "xyz" }, { id: "" }, {}],
      getRecentBlocks: [{ count: 0 }, { count: 101 }, { count: "ten" }],
      getTransaction: [{ id: "ab" }, {}],
      getAccount: [{ address: "nope" }, {}],
      getMempool: [{ txs: "yes" }],
      getSecurityLog: [{ limit: 0 }, { limit: 1001 }],
      getBlockHeader: [{ id: "x" }],
      getBlockHash: [{ height: -1 }, { height: "1e3" }, {}],
      getMempoolEntry: [{ id: "zz" }, {}],
      estimateFee: [{ nBlocks: 0 }, { nBlocks: 101 }, {}],
      getAddressHistory: [
        { address: "nope" },
        {},
        { address: testAddress(1), limit: 0 },
        { address: testAddress(1), cursor: "x" },
        { address: testAddress(1), reverse: "maybe" },
      ],
    };
    const withParams = Object.keys(calls).filter(
      (name) =>
        Object.keys((doc.components.schemas[`${name}.params`] as { properties: object }).properties).length >
        0,
    );
    expect(Object.keys(bad).sort()).toEqual(withParams.sort());
    for (const name of Object.keys(calls)) {
      bad[name] ??= [];
      bad[name].push({ notAParameter: "1" });
    }
    for (const [name, cases] of Object.entries(bad)) {
      const paramsSchema = ajv.compile(doc.components.schemas[`${name}.params`]!);
      for (const params of cases) {
        const what = `${name} ${JSON.stringify(params)}`;
        expect(paramsSchema(params), `schema accepts ${what}`).toBe(false);
        const answer = await callRpc(node, name, params, { token: false });
        expect(answer.error?.code, what).toBe(-32602);
        const query = new URLSearchParams(
          Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
        );
        const res = await fetch(`${node.api.url}/api/${name}?${query}`);
        expect(res.status, what).toBe(400);
        expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0);
      }
    }
  });

  it("the write methods' answers seen here validate too", () => {
    expect(writes.length).toBe(2);
    for (const [name, result] of writes) {
      const validate = validators.get(name)!;
      if (!validate(result)) throw new Error(`${name}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  it("the arrays the schemas describe were not empty (so their item schemas were exercised)", async () => {
    const peers = await rpcOk<{ peers: unknown[]; bans: unknown[] }>(node, "getPeers");
    expect(peers.peers.length).toBeGreaterThan(0);
    expect(peers.bans.length).toBeGreaterThan(0);
    expect((await rpcOk<unknown[]>(node, "getReorgs")).length).toBe(1);
    const block = await rpcOk<{ txs: { type: string }[] }>(node, "getBlock", [blockHash]);
    expect(block.txs.map((t) => t.type)).toEqual(["coinbase", "transfer"]);
  });

  it("a result that breaks the schema is refused (the validation is not vacuous)", () => {
    const validate = validators.get("getBlockHash")!;
    expect(validate("0".repeat(64))).toBe(true);
    expect(validate("0".repeat(63))).toBe(false);
    const status = validators.get("getStatus")!;
    expect(status({})).toBe(false);
  });

  it("GET /openapi.json has the guards of every read: foreign Host 403, POST 405", async () => {
    const { request } = await import("node:http");
    const url = new URL(`${node.api.url}/openapi.json`);
    const statusOf = (method: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method,
          headers: { host },
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await statusOf("GET", "rebind.example")).toBe(403);
    expect(await statusOf("POST", "127.0.0.1")).toBe(405);
    expect(await statusOf("HEAD", "127.0.0.1")).toBe(200);
  });
});
