import { multiaddr } from "@multiformats/multiaddr";
import { afterEach, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { Mempool } from "../../src/mempool/index.js";
import type { NetworkHost } from "../../src/network/index.js";
import {
  decodeMempoolRequest,
  encodeInventoryRequest,
  encodeTxsRequest,
  MAX_TXS_PER_REQUEST,
  MempoolExchange,
} from "../../src/node/mempool-exchange.js";
import { CodecError } from "../../src/primitives/index.js";
import { SyncErrorCode, serveProtocol } from "../../src/sync/index.js";
import { richState, runTransfers } from "../fixtures/mempool-state.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Mempool refill on connect over real libp2p hosts on 127.0.0.1 (`/quarry/regtest/mempool/1`):
 * a node that connects fetches the peer's pooled transfers it lacks, in both directions, in
 * chunks, within its bounds.
 */

const hosts: NetworkHost[] = [];
const pools: Mempool[] = [];
const exchanges: MempoolExchange[] = [];

afterEach(async () => {
  for (const e of exchanges) await e.stop();
  await stopAll(hosts);
  for (const p of pools) await p.stop();
  hosts.length = 0;
  pools.length = 0;
  exchanges.length = 0;
});

async function node(): Promise<{ host: NetworkHost; mempool: Mempool }> {
  const { host } = await startLocalHost({ peers: { minPeers: 0 } });
  const mempool = new Mempool({}, { params: REGTEST, state: richState });
  await mempool.start();
  hosts.push(host);
  pools.push(mempool);
  return { host, mempool };
}

describe("mempool exchange", () => {
  it("SYNC_MALFORMED: a peer whose inventory does not decode is charged what malformed data costs (25), logged as a frame", async () => {
    const liar = await node();
    const client = await node();
    // The liar claims 5 ids and sends 2 bytes.
    await liar.host.libp2p.handle(
      "/quarry/regtest/mempool/1",
      serveProtocol(async () => new Uint8Array([0, 0, 0, 5, 1, 2]), {
        timeoutMs: 5_000,
        maxRequestBytes: 64,
      }),
    );
    // Not started: no refill on connect, only the one asked for below.
    const exchange = new MempoolExchange(
      { network: "regtest" },
      { host: client.host, mempool: client.mempool },
    );
    await client.host.libp2p.dial(multiaddr(liar.host.multiaddrs()[0]!));
    const err = await exchange.refillFrom(liar.host.peerId).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: SyncErrorCode.MALFORMED });
    expect(client.host.reputation.score(liar.host.peerId)).toBeCloseTo(25, 3);
    const line = client.host.securityLog.recent(10).find((e) => e.peerId === liar.host.peerId);
    expect(line).toMatchObject({ code: SyncErrorCode.MALFORMED, kind: "frame" });
  });

  it("refills from a peer on connect, both ways, in chunks of at most 256", async () => {
    const a = await node();
    const b = await node();
    const txs = runTransfers(7, 300); // 10 senders × 30 nonces: two transaction requests
    for (const tx of txs) await a.mempool.add(tx);
    const onlyB = runTransfers(8, 1)[0]!;
    await b.mempool.add(onlyB);
    for (const n of [a, b]) {
      const exchange = new MempoolExchange({ network: "regtest" }, { host: n.host, mempool: n.mempool });
      await exchange.start();
      exchanges.push(exchange);
    }
    await waitFor(() => a.host.libp2p.getProtocols().includes("/quarry/regtest/mempool/1"), 5_000, "handler");
    await b.host.libp2p.dial(multiaddr(a.host.multiaddrs()[0]!));
    await waitFor(() => b.mempool.size === 301 && a.mempool.size === 301, 10_000, "both mempools refilled");
    expect(new Set(b.mempool.ids())).toEqual(new Set(a.mempool.ids()));
  });

  it("stops at maxTxs from one peer", async () => {
    const a = await node();
    const b = await node();
    for (const tx of runTransfers(9, 40)) await a.mempool.add(tx);
    const served = new MempoolExchange({ network: "regtest" }, { host: a.host, mempool: a.mempool });
    await served.start();
    exchanges.push(served);
    const client = new MempoolExchange(
      { network: "regtest", maxTxs: 15 },
      { host: b.host, mempool: b.mempool },
    );
    await client.start();
    exchanges.push(client);
    await b.host.libp2p.dial(multiaddr(a.host.multiaddrs()[0]!));
    const result = await client.refillFrom(a.host.peerId);
    expect(result.offered).toBe(15);
    expect(b.mempool.size).toBe(15);
  });

  const bad: [string, Uint8Array][] = [
    ["unknown kind", new Uint8Array([2, 0, 0, 0, 1])],
    ["trailing byte", new Uint8Array([...encodeInventoryRequest(10), 0])],
    ["no ids", new Uint8Array([1, 0, 0, 0, 0])],
    ["too many ids", new Uint8Array([1, 0, 0, 1, 1])],
    ["truncated id", encodeTxsRequest([new Uint8Array(32)]).subarray(0, 20)],
  ];
  it.each(bad)("request decoding refuses %s with a CodecError", (_name, bytes) => {
    expect(() => decodeMempoolRequest(bytes)).toThrow(CodecError);
  });

  it("request codec round trip", () => {
    expect(decodeMempoolRequest(encodeInventoryRequest(77))).toEqual({ kind: "inventory", maxIds: 77 });
    const ids = Array.from({ length: MAX_TXS_PER_REQUEST }, (_, i) => new Uint8Array(32).fill(i));
    expect(decodeMempoolRequest(encodeTxsRequest(ids))).toEqual({ kind: "txs", ids });
  });
});
