import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import {
  createNetworkHost,
  type NetworkHost,
  type NetworkHostInit,
  type PeerDb,
} from "../../src/network/index.js";
import { penaltyFor } from "../../src/node/penalties.js";
import type { Clock } from "../../src/util/clock.js";
import type { Logger } from "../../src/util/logger.js";
import { waitFor } from "./wait.js";

/** A logger that keeps every line (level, message, fields) for tests to inspect. */
export function recordingLogger(): Logger & { lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const make = (bindings: object): Logger => ({
    debug: (obj, msg = "") => lines.push({ level: "debug", msg, obj: { ...bindings, ...obj } }),
    info: (obj, msg = "") => lines.push({ level: "info", msg, obj: { ...bindings, ...obj } }),
    warn: (obj, msg = "") => lines.push({ level: "warn", msg, obj: { ...bindings, ...obj } }),
    error: (obj, msg = "") => lines.push({ level: "error", msg, obj: { ...bindings, ...obj } }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return Object.assign(make({}), { lines });
}

/** Options for a regtest host on 127.0.0.1 with fast timers. */
export function localHostInit(overrides: Partial<NetworkHostInit> = {}): NetworkHostInit {
  return {
    network: "regtest",
    listen: ["/ip4/127.0.0.1/tcp/0"],
    localNetwork: true,
    dhtInitialQuerySelfIntervalMs: 200,
    ...overrides,
    peers: {
      minPeers: 3,
      maxPeers: 10,
      maintenanceIntervalMs: 200,
      dialBackoffBaseMs: 100,
      dialBackoffMaxMs: 1_000,
      ...overrides.peers,
    },
  };
}

export interface StartedHost {
  host: NetworkHost;
  privateKey: PrivateKey;
}

/** Creates and starts a local regtest host. */
export async function startLocalHost(
  overrides: Partial<NetworkHostInit> = {},
  deps: { privateKey?: PrivateKey; peerDb?: PeerDb; clock?: Clock; log?: Logger } = {},
): Promise<StartedHost> {
  const privateKey = deps.privateKey ?? (await generateKeyPair("Ed25519"));
  const host = await createNetworkHost(localHostInit(overrides), {
    ...deps,
    privateKey,
    penalties: penaltyFor,
  });
  await host.start();
  return { host, privateKey };
}

/** Stops every host, in parallel, ignoring ones already stopped. */
export async function stopAll(hosts: readonly NetworkHost[]): Promise<void> {
  await Promise.allSettled(hosts.map((h) => h.stop()));
}

/**
 * `startLocalHost` on the address of a host that was stopped (a node coming back where it was).
 * The port is free again at once, but until it is bound another socket may take it: outgoing
 * connections of every process draw their ports from the same range. Retried while that lasts.
 */
export function restartLocalHost(
  overrides: Partial<NetworkHostInit>,
  deps: { privateKey?: PrivateKey; peerDb?: PeerDb; clock?: Clock; log?: Logger } = {},
): Promise<StartedHost> {
  return waitFor(
    async () => {
      try {
        return await startLocalHost(overrides, deps);
      } catch (err) {
        const text = `${String(err)} ${String((err as { cause?: unknown }).cause ?? "")}`;
        if (text.includes("EADDRINUSE")) return undefined;
        throw err;
      }
    },
    30_000,
    "the stopped host's address to be free to listen on again",
  );
}
