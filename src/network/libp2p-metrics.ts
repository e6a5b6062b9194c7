import {
  type ComponentLogger,
  type Metrics,
  type MultiaddrConnection,
  type Stream,
  serviceCapabilities,
} from "@libp2p/interface";
import { prometheusMetrics } from "@libp2p/prometheus-metrics";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { Registry } from "prom-client";

/** Bytes over one connection since it opened (its raw, encrypted socket traffic). */
export interface ConnectionBytes {
  in: number;
  out: number;
}

const P2P_CODE = 0x01a5;

/** A connection's remote address without its /p2p/<peer id> (the raw connection has none, the upgraded one has it). */
export function connectionKey(remoteAddr: Multiaddr): string {
  return remoteAddr.decapsulateCode(P2P_CODE).toString();
}

/**
 * Bytes in and out per open connection, keyed by the connection's remote multiaddr (one TCP
 * connection per remote address and port). libp2p keeps no byte counts on its connections; its
 * metrics component is the one place that sees every raw connection, so it feeds this.
 */
export class ConnectionTraffic {
  private readonly open = new Map<string, ConnectionBytes>();

  /** Counts `maConn`'s bytes until it closes. */
  track(maConn: MultiaddrConnection): void {
    const key = connectionKey(maConn.remoteAddr);
    const bytes: ConnectionBytes = { in: 0, out: 0 };
    this.open.set(key, bytes);
    // As @libp2p/prometheus-metrics does: observe dispatched messages without adding a `message`
    // listener (a listener would make the stream start delivering before the upgrader reads).
    const dispatchEvent = maConn.dispatchEvent.bind(maConn);
    maConn.dispatchEvent = (evt: Event) => {
      if (evt.type === "message" && "data" in evt) {
        const data = evt.data as { byteLength?: number };
        bytes.in += data.byteLength ?? 0;
      }
      return dispatchEvent(evt);
    };
    const send = maConn.send.bind(maConn);
    maConn.send = (buf) => {
      bytes.out += buf.byteLength;
      return send(buf);
    };
    maConn.addEventListener(
      "close",
      () => {
        if (this.open.get(key) === bytes) this.open.delete(key);
      },
      { once: true },
    );
  }

  /** The bytes of the open connection to `remoteAddr` (undefined: none is open). */
  bytes(remoteAddr: Multiaddr): ConnectionBytes | undefined {
    const b = this.open.get(connectionKey(remoteAddr));
    return b ? { ...b } : undefined;
  }
}

export interface Libp2pMetricsInit {
  /**
   * where libp2p's own metrics (connections, streams, protocol bytes, dial errors) register: the
   * node's registry, so GET /metrics serves them beside Quarry's. Without one only the per-connection
   * byte counts are kept.
   */
  registry?: Registry;
}

const NOOP_METRIC = {
  update() {},
  increment() {},
  decrement() {},
  observe() {},
  reset() {},
  timer() {
    return () => undefined;
  },
};

/**
 * The libp2p `metrics` component of a Quarry host: @libp2p/prometheus-metrics on the node's registry
 * (its default metrics off: the node's registry already collects them), plus `traffic`.
 *
 * @libp2p/prometheus-metrics caches metrics by name in a module-level map, cleared when an instance
 * is created: in a process running several hosts (tests), a metric some component registers at
 * start (libp2p's connection gauges) lands in the registry of the host created last before that
 * start. One node per process, as `quarry start` runs, is exact.
 */
export function libp2pMetrics(init: Libp2pMetricsInit, traffic: ConnectionTraffic) {
  return (components: { logger: ComponentLogger }): Metrics => {
    const inner =
      init.registry === undefined
        ? undefined
        : prometheusMetrics({
            registry: init.registry,
            collectDefaultMetrics: false,
            preserveExistingMetrics: false,
          })(components);
    const register = <K extends keyof Metrics>(key: K) =>
      ((name: string, opts?: object) => {
        if (!inner) return NOOP_METRIC;
        const fn = inner[key] as (name: string, opts?: object) => unknown;
        return fn.call(inner, name, opts);
      }) as Metrics[K];
    return {
      [Symbol.toStringTag]: "@quarry/libp2p-metrics",
      [serviceCapabilities]: ["@libp2p/metrics"],
      trackMultiaddrConnection(maConn: MultiaddrConnection) {
        inner?.trackMultiaddrConnection(maConn);
        traffic.track(maConn);
      },
      trackProtocolStream(stream: Stream) {
        inner?.trackProtocolStream(stream);
      },
      registerMetric: register("registerMetric"),
      registerMetricGroup: register("registerMetricGroup"),
      registerCounter: register("registerCounter"),
      registerCounterGroup: register("registerCounterGroup"),
      registerHistogram: register("registerHistogram"),
      registerHistogramGroup: register("registerHistogramGroup"),
      registerSummary: register("registerSummary"),
      registerSummaryGroup: register("registerSummaryGroup"),
      createTrace: () => inner?.createTrace(),
      traceFunction: ((_name: string, fn: unknown) => fn) as Metrics["traceFunction"],
    } as Metrics;
  };
}
