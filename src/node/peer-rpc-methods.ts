import {
  optionalIntParam,
  RpcError,
  RpcErrorCode,
  type RpcMethodTable,
  type RpcParams,
  stringParam,
} from "../api/index.js";
import {
  type BanTarget,
  type NetworkHost,
  PeerControlError,
  PeerControlErrorCode,
} from "../network/index.js";
import type { SyncManager } from "../sync/index.js";

/** The longest operator ban, in seconds (ten years: "for good", with an end a Date can show). */
export const MAX_BAN_SECONDS = 10 * 365 * 24 * 60 * 60;
/** An operator ban without `seconds` lasts this long (as a penalty ban, and as bitcoind's setban). */
export const DEFAULT_BAN_SECONDS = 24 * 60 * 60;
const MAX_REASON_LENGTH = 200;

export interface PeerRpcServices {
  host: Pick<NetworkHost, "peerId" | "multiaddrs" | "connectedPeers" | "control" | "natStatus">;
  sync: Pick<SyncManager, "peerStatus">;
}

/** A PeerControlError as the JSON-RPC error it is; `field` names the parameter a bad value came in. */
function rpcErrorOf(err: unknown, field: string): unknown {
  if (!(err instanceof PeerControlError)) return err;
  const data = { code: err.code };
  switch (err.code) {
    case PeerControlErrorCode.BAD_TARGET:
    case PeerControlErrorCode.BAD_MULTIADDR:
    case PeerControlErrorCode.SELF:
      return new RpcError(RpcErrorCode.INVALID_PARAMS, `parameter '${field}': ${err.message}`, data);
    case PeerControlErrorCode.NOT_BANNED:
    case PeerControlErrorCode.NOT_CONNECTED:
      return new RpcError(RpcErrorCode.NOT_FOUND, err.message, data);
    default:
      return new RpcError(RpcErrorCode.REJECTED, err.message, data);
  }
}

async function carry<T>(field: string, action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw rpcErrorOf(err, field);
  }
}

function target(host: PeerRpcServices["host"], params: RpcParams): Promise<BanTarget> {
  const text = stringParam(params, "target");
  return carry("target", () => host.control.parseTarget(text));
}

function reasonParam(params: RpcParams): string {
  const reason = params.reason;
  if (reason === undefined) return "banned by the operator";
  if (typeof reason !== "string" || reason.length === 0 || reason.length > MAX_REASON_LENGTH)
    throw new RpcError(
      RpcErrorCode.INVALID_PARAMS,
      `parameter 'reason' must be a string of 1-${MAX_REASON_LENGTH} characters`,
    );
  return reason;
}

/**
 * The operator's peer methods: the peer table and bans (read-only, also REST GETs), ban/unban of a
 * peer id or IP address, connect to a multiaddr now, disconnect a peer (these need the token).
 */
export function buildPeerRpcMethods(node: PeerRpcServices): RpcMethodTable {
  const { host, sync } = node;
  return {
    getPeers: {
      summary:
        "connected peers (address, direction, since, latency, agent, protocols, their height and work, our score, bytes) and bans",
      readOnly: true,
      async handler() {
        const peers = await host.control.peers();
        return {
          peerId: host.peerId,
          listen: host.multiaddrs(),
          connected: host.connectedPeers(),
          peers: peers.map((p) => {
            const status = sync.peerStatus(p.peerId);
            return {
              ...p,
              height: status?.height ?? null,
              chainWork: status ? `0x${status.chainWork.toString(16)}` : null,
              tip: status?.tipHash ?? null,
            };
          }),
          bans: host.control.bans(),
          nat: host.natStatus(),
        };
      },
    },
    getBans: {
      summary: "active bans of peer ids and IP addresses: reason, code, since, until",
      readOnly: true,
      async handler() {
        return host.control.bans();
      },
    },
    banPeer: {
      summary: `ban a peer id or IP address, disconnecting it (params: target, seconds = ${DEFAULT_BAN_SECONDS}, reason)`,
      readOnly: false,
      params: ["target", "seconds", "reason"],
      async handler(params) {
        const to = await target(host, params);
        const seconds = optionalIntParam(params, "seconds", 1, MAX_BAN_SECONDS) ?? DEFAULT_BAN_SECONDS;
        const reason = reasonParam(params);
        return host.control.ban(to, reason, seconds * 1000);
      },
    },
    unbanPeer: {
      summary: "lift the ban of a peer id or IP address (param: target)",
      readOnly: false,
      params: ["target"],
      async handler(params) {
        const to = await target(host, params);
        return carry("target", () => host.control.unban(to));
      },
    },
    connectPeer: {
      summary: "dial a multiaddr now, once (param: address)",
      readOnly: false,
      params: ["address"],
      async handler(params) {
        const text = stringParam(params, "address");
        const ma = await carry("address", () => host.control.parseMultiaddr(text));
        return carry("address", () => host.control.connect(ma));
      },
    },
    disconnectPeer: {
      summary: "close every connection to a peer; not a ban, it may come back (param: peerId)",
      readOnly: false,
      params: ["peerId"],
      async handler(params) {
        const peerId = stringParam(params, "peerId");
        await carry("peerId", () => host.control.disconnect(peerId));
        return { disconnected: peerId };
      },
    },
  };
}
