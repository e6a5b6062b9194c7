import type { EventHub } from "../api/index.js";
import type { Chain } from "../chain/index.js";
import type { Mempool } from "../mempool/index.js";
import type { NetworkHost } from "../network/index.js";
import { toHex, transactionToJson } from "../primitives/index.js";
import { reorgView } from "./rpc-methods.js";

/** The emitters the event stream reports on. */
export interface NodeEventSources {
  chain: Pick<Chain, "on" | "networkParams">;
  mempool: Pick<Mempool, "on">;
  host: Pick<NetworkHost, "on">;
}

/**
 * Publishes the services' events on the API's event stream (GET /events), one topic each
 * (docs/API.md, "Events"): `tip` for every block connected to the main chain, `reorg` with the
 * report, `tx` for every transaction the mempool accepted, `peer` for connects and disconnects,
 * `halt` when the chain stops or resumes writing.
 */
export function publishNodeEvents(hub: Pick<EventHub, "publish">, sources: NodeEventSources): void {
  const { chain, mempool, host } = sources;
  const prefix = chain.networkParams.addressPrefix;
  chain.on("blockConnected", ({ hash, height, block }) => {
    const h = block.header;
    hub.publish("tip", {
      height,
      hash,
      prevHash: toHex(h.prevHash),
      time: h.time,
      bits: `0x${h.bits.toString(16).padStart(8, "0")}`,
      txs: block.txs.length,
    });
  });
  chain.on("reorg", (report) => hub.publish("reorg", reorgView(report)));
  mempool.on("txAdded", ({ tx, executable }) =>
    hub.publish("tx", { ...transactionToJson(tx, prefix), executable }),
  );
  host.on("peerConnected", ({ peerId }) => hub.publish("peer", { peerId, status: "connected" }));
  host.on("peerDisconnected", ({ peerId }) => hub.publish("peer", { peerId, status: "disconnected" }));
  const haltView =
    (status: "halted" | "resumed") => (halt: { code: string; reason: string; sinceMs: number }) =>
      hub.publish("halt", {
        status,
        code: halt.code,
        reason: halt.reason,
        since: new Date(halt.sinceMs).toISOString(),
      });
  chain.on("halted", haltView("halted"));
  chain.on("resumed", haltView("resumed"));
}
