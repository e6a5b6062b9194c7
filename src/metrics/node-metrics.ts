import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** One row of gossip verdict counts (the network host's `VerdictCounters.snapshot()`). */
export interface VerdictRow {
  kind: string;
  result: string;
  code: string;
  count: number;
}

/**
 * What the collectors read at scrape time. Plain functions, so this folder depends on no service:
 * the composition root passes closures over the chain, host, sync, mempool and miner.
 */
export interface NodeMetricsSources {
  height(): number;
  peers(): number;
  verdicts(): readonly VerdictRow[];
  sync(): { syncing: boolean; targetHeight: number; blocksPerSecond: number };
  mempool(): { size: number; bytes: number };
  /** hashes per second of the local miner (0 when not mining) */
  hashrate(): number;
  blocksMined(): number;
  /** the code of the chain's halt (STORE_WRITE_FAILED, STORE_DISK_LOW, STORE_CORRUPT), or undefined */
  haltCode?(): string | undefined;
  /** free bytes on the datadir's filesystem at the last check, or undefined before the first */
  datadirFreeBytes?(): number | undefined;
  /** the event stream (GET /events): subscribers, bytes queued for them, and those dropped by reason */
  events?(): {
    subscribers: number;
    queuedBytes: number;
    dropped: readonly { reason: string; count: number }[];
  };
}

export interface NodeMetricsOptions {
  /** Node.js process metrics (event-loop lag, heap, GC, CPU, fds); default true */
  defaultMetrics?: boolean;
  /** static labels on every series, e.g. `{network: "devnet"}` */
  labels?: Record<string, string>;
}

export interface NodeMetricsDeps {
  sources: NodeMetricsSources;
}

/** Outcome label of one `processBlock` call: the chain's accept status, or `error` when it threw. */
export type BlockImportResult = "connected" | "side-branch" | "orphan" | "duplicate" | "error";

// Block import on regtest takes ~1-20 ms; a 1000-tx block with signature checks up to ~0.5 s.
const IMPORT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const REORG_DEPTH_BUCKETS = [1, 2, 3, 5, 8, 13, 21, 50, 100, 500];

/**
 * Quarry's Prometheus metrics in their own registry (never prom-client's global one, so two nodes
 * in one process, as the tests run them, do not collide). Gauges are read from the sources at
 * scrape time; the block import and reorg histograms are fed by the composition root.
 * Names carry their unit (`_seconds`, `_bytes`, `_total`, `_hashes_per_second`).
 */
export class NodeMetrics {
  readonly registry: Registry;
  private readonly blockImport: Histogram<"result">;
  private readonly reorgDepth: Histogram;

  constructor(opts: NodeMetricsOptions, deps: NodeMetricsDeps) {
    const registry = new Registry();
    if (opts.labels) registry.setDefaultLabels(opts.labels);
    this.registry = registry;
    const src = deps.sources;
    const registers = [registry];

    if (opts.defaultMetrics ?? true) {
      // includes nodejs_eventloop_lag_seconds (and its percentiles) and nodejs_heap_size_used_bytes
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
    }

    new Gauge({
      name: "quarry_chain_height",
      help: "height of the main-chain tip",
      registers,
      collect() {
        this.set(src.height());
      },
    });
    new Gauge({
      name: "quarry_peers",
      help: "connected peers",
      registers,
      collect() {
        this.set(src.peers());
      },
    });
    new Counter({
      name: "quarry_gossip_verdicts_total",
      help: "gossip messages by kind (block|tx), verdict (accept|ignore|reject) and error code",
      labelNames: ["kind", "result", "code"],
      registers,
      collect() {
        // The host keeps cumulative counts; mirror them (reset first so no series is doubled).
        this.reset();
        for (const row of src.verdicts()) {
          this.inc({ kind: row.kind, result: row.result, code: row.code }, row.count);
        }
      },
    });
    new Gauge({
      name: "quarry_sync_blocks_per_second",
      help: "blocks imported per second by sync (recent rate)",
      registers,
      collect() {
        this.set(src.sync().blocksPerSecond);
      },
    });
    new Gauge({
      name: "quarry_sync_target_height",
      help: "the best height known from peers (or our own when ahead)",
      registers,
      collect() {
        this.set(src.sync().targetHeight);
      },
    });
    new Gauge({
      name: "quarry_syncing",
      help: "1 while a sync round is running",
      registers,
      collect() {
        this.set(src.sync().syncing ? 1 : 0);
      },
    });
    new Gauge({
      name: "quarry_mempool_transactions",
      help: "transactions in the mempool",
      registers,
      collect() {
        this.set(src.mempool().size);
      },
    });
    new Gauge({
      name: "quarry_mempool_bytes",
      help: "encoded size of the mempool's transactions",
      registers,
      collect() {
        this.set(src.mempool().bytes);
      },
    });
    new Gauge({
      name: "quarry_miner_hashes_per_second",
      help: "hash rate of this node's miner",
      registers,
      collect() {
        this.set(src.hashrate());
      },
    });
    new Counter({
      name: "quarry_blocks_mined_total",
      help: "blocks this node mined and the chain accepted",
      registers,
      collect() {
        this.reset();
        this.inc(src.blocksMined());
      },
    });
    new Gauge({
      name: "quarry_chain_halted",
      help: "1 while the chain refuses to store blocks (label code: why), else 0",
      labelNames: ["code"],
      registers,
      collect() {
        this.reset();
        const code = src.haltCode?.();
        this.set({ code: code ?? "" }, code === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: "quarry_datadir_free_bytes",
      help: "free bytes on the datadir's filesystem (statfs, checked every --disk-check-interval)",
      registers,
      collect() {
        const free = src.datadirFreeBytes?.();
        if (free !== undefined) this.set(free);
      },
    });
    new Gauge({
      name: "quarry_events_subscribers",
      help: "open GET /events streams",
      registers,
      collect() {
        const events = src.events?.();
        if (events) this.set(events.subscribers);
      },
    });
    new Gauge({
      name: "quarry_events_queued_bytes",
      help: "bytes of events waiting for slow /events subscribers (each bounded; past it the subscriber is dropped)",
      registers,
      collect() {
        const events = src.events?.();
        if (events) this.set(events.queuedBytes);
      },
    });
    new Counter({
      name: "quarry_events_dropped_total",
      help: "/events subscribers closed by the node, by reason (slow-consumer: its queue passed the bound)",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        for (const row of src.events?.().dropped ?? []) this.inc({ reason: row.reason }, row.count);
      },
    });
    this.blockImport = new Histogram({
      name: "quarry_block_import_seconds",
      help: "time to validate and store one block (Chain.processBlock, including its queue wait)",
      labelNames: ["result"],
      buckets: IMPORT_BUCKETS,
      registers,
    });
    this.reorgDepth = new Histogram({
      name: "quarry_reorg_depth_blocks",
      help: "blocks disconnected by each reorganisation",
      buckets: REORG_DEPTH_BUCKETS,
      registers,
    });
  }

  /** Records one block import. */
  observeBlockImport(seconds: number, result: BlockImportResult): void {
    this.blockImport.observe({ result }, seconds);
  }

  /** Records one reorganisation. */
  observeReorg(depth: number): void {
    this.reorgDepth.observe(depth);
  }

  /** The Prometheus text exposition format, for GET /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
