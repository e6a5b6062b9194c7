/**
 * Plots a simulation run as SVG (no plotting package): per-node convergence time after the heal
 * and a histogram of block propagation delays. Convert to PNG with a system tool, e.g.
 *   node dist/test/sim/plot.js results.json docs/sim-convergence.svg
 *   rsvg-convert -o docs/sim-convergence.png docs/sim-convergence.svg
 * Input: the JSON array written by `run.js --out`; the first partition-heal summary is used.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Summary } from "./scenarios.js";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: plot.js <results.json> <out.svg>");
  process.exit(2);
}
const runs = JSON.parse(readFileSync(input, "utf8")) as Summary[];
const s = runs.find((r) => r.scenario === "partition-heal" && r.perNodeConvergenceMs) ?? runs[0];
if (!s?.perNodeConvergenceMs) throw new Error("no scenario summary with per-node convergence in the input");

const W = 960;
const H = 760;
const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const parts: string[] = [];
const text = (
  x: number,
  y: number,
  t: string,
  o: { size?: number; anchor?: string; weight?: string; rot?: number } = {},
) =>
  parts.push(
    `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? "start"}"${o.weight ? ` font-weight="${o.weight}"` : ""}${o.rot ? ` transform="rotate(${o.rot} ${x} ${y})"` : ""}>${esc(t)}</text>`,
  );
const rect = (x: number, y: number, w: number, h: number, fill: string) =>
  parts.push(
    `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}"/>`,
  );
const line = (x1: number, y1: number, x2: number, y2: number, stroke = "#888", dash = "") =>
  parts.push(
    `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${stroke}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
  );

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(
  x0: number,
  y0: number,
  w: number,
  h: number,
  yMax: number,
  yLabel: string,
  xLabel: string,
): void {
  line(x0, y0 + h, x0 + w, y0 + h, "#333");
  line(x0, y0, x0, y0 + h, "#333");
  for (let k = 0; k <= 5; k++) {
    const y = y0 + h - (k / 5) * h;
    line(x0, y, x0 + w, y, "#e3e3e3");
    text(x0 - 6, y + 4, String(Math.round((yMax * k) / 5)), { anchor: "end", size: 11 });
  }
  text(x0 - 46, y0 + h / 2, yLabel, { anchor: "middle", rot: -90 });
  text(x0 + w / 2, y0 + h + 36, xLabel, { anchor: "middle" });
}

parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
text(
  W / 2,
  28,
  `Quarry simulation: ${s.nodes} nodes in ${s.processes} processes (${s.nodesPerProcess.join(" + ")}), partition + heal`,
  {
    anchor: "middle",
    size: 16,
    weight: "bold",
  },
);

// Panel 1: per-node convergence after the heal.
{
  const x0 = 80;
  const y0 = 70;
  const w = W - 120;
  const h = 250;
  const vals = s.perNodeConvergenceMs;
  const yMax = niceMax(Math.max(...vals, s.convergenceMs ?? 0, 1));
  axes(
    x0,
    y0,
    w,
    h,
    yMax,
    "ms after heal",
    "node index (left half: side A, reorged onto B; right half: side B, already on the winning tip)",
  );
  const bw = w / vals.length;
  const half = Math.floor(vals.length / 2);
  vals.forEach((v, i) => {
    const bh = (v / yMax) * h;
    rect(x0 + i * bw + 1, y0 + h - bh, bw - 2, bh, i < half ? "#d9534f" : "#5b8def");
    if (vals.length <= 60 && i % 5 === 0)
      text(x0 + i * bw + bw / 2, y0 + h + 14, String(i), { anchor: "middle", size: 10 });
  });
  if (s.convergenceMs !== null) {
    const y = y0 + h - (s.convergenceMs / yMax) * h;
    line(x0, y, x0 + w, y, "#222", "5,4");
    text(x0 + w - 4, y - 5, `all nodes on one tip: ${s.convergenceMs} ms (measured by polling every 50 ms)`, {
      anchor: "end",
      size: 11,
    });
  }
  text(
    x0,
    y0 - 10,
    "Per-node time from heal to adopting the final tip (tip-change timestamp in the node's own process)",
    {
      size: 13,
      weight: "bold",
    },
  );
}

// Panel 2: propagation histogram.
{
  const x0 = 80;
  const y0 = 420;
  const w = W - 120;
  const h = 250;
  const samples = [...(s.propagationSamples ?? [])].sort((a, b) => a - b);
  const maxV = samples.at(-1) ?? 1;
  const bins = 20;
  const binW = niceMax(maxV) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of samples) counts[Math.min(bins - 1, Math.floor(v / binW))]!++;
  const yMax = niceMax(Math.max(...counts, 1));
  axes(x0, y0, w, h, yMax, "deliveries", "ms from the first node to import a block to each other node");
  const bw = w / bins;
  counts.forEach((c, i) => {
    const bh = (c / yMax) * h;
    rect(x0 + i * bw + 1, y0 + h - bh, bw - 2, bh, "#5cb85c");
    if (i % 5 === 0)
      text(x0 + i * bw, y0 + h + 14, String(Math.round(i * binW)), { anchor: "middle", size: 10 });
  });
  text(x0 + w, y0 + h + 14, String(Math.round(bins * binW)), { anchor: "middle", size: 10 });
  const p = s.propagationMs;
  text(
    x0,
    y0 - 10,
    `Block propagation before the heal (within each side): n=${p.samples}, p50 ${p.p50} ms, p95 ${p.p95} ms, max ${p.max} ms`,
    {
      size: 13,
      weight: "bold",
    },
  );
}
text(
  80,
  H - 22,
  `max RSS per process: ${s.maxRssMbPerProcess.join(" / ")} MB (${s.maxRssMbPerNode} MB per node); reorg depths ${JSON.stringify(s.reorgDepths)}; gossip msgs/node median ${s.gossipMessagesPerNode.median}`,
  { size: 11 },
);

writeFileSync(
  output,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n${parts.join("\n")}\n</svg>\n`,
);
console.log(`wrote ${output}`);
