import { describe, expect, it } from "vitest";
import { NodeMetrics, type NodeMetricsSources, type VerdictRow } from "../../../src/metrics/index.js";

function sources(over: Partial<NodeMetricsSources> = {}): NodeMetricsSources {
  return {
    height: () => 42,
    peers: () => 3,
    verdicts: () => [],
    sync: () => ({ syncing: true, targetHeight: 100, blocksPerSecond: 12.5 }),
    mempool: () => ({ size: 7, bytes: 1190 }),
    hashrate: () => 1_400_000,
    blocksMined: () => 5,
    ...over,
  };
}

/** The value of one series line, e.g. `quarry_peers{network="regtest"} 3`. */
function value(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe("NodeMetrics", () => {
  it("reads every gauge from its source at scrape time, with the static labels", async () => {
    let height = 42;
    const m = new NodeMetrics(
      { defaultMetrics: false, labels: { network: "regtest" } },
      { sources: sources({ height: () => height }) },
    );
    let text = await m.render();
    expect(value(text, 'quarry_chain_height{network="regtest"}')).toBe(42);
    expect(value(text, 'quarry_peers{network="regtest"}')).toBe(3);
    expect(value(text, 'quarry_sync_blocks_per_second{network="regtest"}')).toBe(12.5);
    expect(value(text, 'quarry_sync_target_height{network="regtest"}')).toBe(100);
    expect(value(text, 'quarry_syncing{network="regtest"}')).toBe(1);
    expect(value(text, 'quarry_mempool_transactions{network="regtest"}')).toBe(7);
    expect(value(text, 'quarry_mempool_bytes{network="regtest"}')).toBe(1190);
    expect(value(text, 'quarry_miner_hashes_per_second{network="regtest"}')).toBe(1_400_000);
    expect(value(text, 'quarry_blocks_mined_total{network="regtest"}')).toBe(5);
    height = 43;
    text = await m.render();
    expect(value(text, 'quarry_chain_height{network="regtest"}')).toBe(43);
  });

  it("gossip verdicts mirror the host's cumulative counts: repeated scrapes do not add up", async () => {
    const rows: VerdictRow[] = [
      { kind: "block", result: "accept", code: "ACCEPT", count: 4 },
      { kind: "tx", result: "reject", code: "TX_BAD_SIGNATURE", count: 2 },
    ];
    const m = new NodeMetrics({ defaultMetrics: false }, { sources: sources({ verdicts: () => rows }) });
    await m.render();
    rows[0] = { ...rows[0]!, count: 5 };
    const text = await m.render();
    expect(value(text, 'quarry_gossip_verdicts_total{kind="block",result="accept",code="ACCEPT"}')).toBe(5);
    expect(
      value(text, 'quarry_gossip_verdicts_total{kind="tx",result="reject",code="TX_BAD_SIGNATURE"}'),
    ).toBe(2);
  });

  it("histograms: block import seconds by result, reorg depth in blocks", async () => {
    const m = new NodeMetrics({ defaultMetrics: false }, { sources: sources() });
    m.observeBlockImport(0.003, "connected");
    m.observeBlockImport(0.2, "connected");
    m.observeBlockImport(0.001, "error");
    m.observeReorg(2);
    const text = await m.render();
    expect(value(text, 'quarry_block_import_seconds_count{result="connected"}')).toBe(2);
    expect(value(text, 'quarry_block_import_seconds_bucket{le="0.005",result="connected"}')).toBe(1);
    expect(value(text, 'quarry_block_import_seconds_count{result="error"}')).toBe(1);
    expect(value(text, 'quarry_reorg_depth_blocks_bucket{le="2"}')).toBe(1);
    expect(value(text, 'quarry_reorg_depth_blocks_bucket{le="1"}')).toBe(0);
  });

  it("two instances in one process keep separate registries; default metrics include event-loop lag and heap", async () => {
    const a = new NodeMetrics({}, { sources: sources({ height: () => 1 }) });
    const b = new NodeMetrics({}, { sources: sources({ height: () => 2 }) });
    const [ta, tb] = [await a.render(), await b.render()];
    expect(value(ta, "quarry_chain_height")).toBe(1);
    expect(value(tb, "quarry_chain_height")).toBe(2);
    expect(ta).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
    expect(ta).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
    expect(a.contentType).toContain("text/plain");
  });
});
