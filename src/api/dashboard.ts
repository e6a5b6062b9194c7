/**
 * The node's web dashboard: one HTML page and one script, served at `/` and `/dashboard.js`, no
 * build step and no external assets. The script listens to the node's event stream (`/events`)
 * and re-reads the read-only REST API (`/api/<method>`) when an event says something changed, plus
 * a slow fallback poll for values no event announces (peer round-trip times, hash rate); it
 * updates the page in place. Everything that came from the network (peer ids,
 * error codes, hashes) is written with `textContent`, never parsed as HTML.
 */

import { pageHead, pageWithScript, type StaticPage } from "./static-page.js";

const HTML = `${pageHead("Quarry node")}
  header { display:flex; gap:1rem; align-items:baseline; padding:.8rem 1.2rem; border-bottom:1px solid #263040; }
  header h1 { margin:0; font-size:1.2rem; }
  #conn { margin-left:auto; color:var(--dim); }
  #search { display:flex; gap:.3rem; } #search input { width:22rem; background:var(--panel); color:var(--text); border:1px solid #263040; border-radius:4px; padding:.25rem .4rem; }
  #search button { background:#263040; color:var(--text); border:0; border-radius:4px; }
  header a { color:var(--accent); }
  #conn.down { color:var(--bad); }
  main { display:grid; grid-template-columns:repeat(auto-fit,minmax(330px,1fr)); gap:1rem; padding:1rem 1.2rem; }
  section { background:var(--panel); border-radius:6px; padding:.8rem 1rem; min-width:0; }
  section h2 { margin:0 0 .5rem; font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); }
  .wide { grid-column:1 / -1; }
  dl { display:grid; grid-template-columns:max-content 1fr; gap:.2rem .8rem; margin:0; }
  dt { color:var(--dim); } dd { margin:0; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  .mono { font-family:ui-monospace, monospace; font-size:.85em; }
  table { width:100%; border-collapse:collapse; table-layout:fixed; }
  th, td { text-align:left; padding:.15rem .4rem; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  th { color:var(--dim); font-weight:normal; font-size:.8rem; }
  tr:nth-child(even) td { background:#1c2530; }
  .big { font-size:1.6rem; color:var(--accent); }
  .empty { color:var(--dim); font-style:italic; }
  svg { width:100%; height:120px; display:block; }
  .bad { color:var(--bad); } .ok { color:var(--ok); }
</style>
</head>
<body>
<header><h1>Quarry</h1><span id="network" class="mono"></span>
<form id="search" action="/explorer" method="get"><input name="q" placeholder="height, block hash, tx id or address" aria-label="search the explorer"><button type="submit">Search</button></form>
<a href="/explorer">explorer</a><span id="conn">connecting…</span></header>
<main>
  <section>
    <h2>Chain</h2>
    <div class="big">height <span id="height" data-testid="height">–</span></div>
    <dl>
      <dt>tip</dt><dd id="tip" class="mono">–</dd>
      <dt>tip time</dt><dd id="tipTime">–</dd>
      <dt>chain work</dt><dd id="chainWork" class="mono">–</dd>
      <dt>peer id</dt><dd id="peerId" class="mono">–</dd>
      <dt>store</dt><dd id="halted">–</dd>
    </dl>
  </section>
  <section>
    <h2>Network and sync</h2>
    <dl>
      <dt>peers</dt><dd id="peers">–</dd>
      <dt>sync</dt><dd id="sync">–</dd>
      <dt>headers</dt><dd id="syncHeaders">–</dd>
      <dt>blocks</dt><dd id="syncBlocks">–</dd>
      <dt>listening</dt><dd id="listen" class="mono">–</dd>
    </dl>
  </section>
  <section>
    <h2>Mempool</h2>
    <dl>
      <dt>transactions</dt><dd id="mempoolSize">–</dd>
      <dt>bytes</dt><dd id="mempoolBytes">–</dd>
      <dt>senders</dt><dd id="mempoolSenders">–</dd>
    </dl>
  </section>
  <section>
    <h2>Mining</h2>
    <dl>
      <dt>mining</dt><dd id="mining">–</dd>
      <dt>hashrate</dt><dd id="hashrate">–</dd>
      <dt>blocks mined</dt><dd id="blocksMined">–</dd>
    </dl>
    <svg id="chart" viewBox="0 0 300 100" preserveAspectRatio="none" aria-label="hashrate over time">
      <polyline id="chartLine" fill="none" stroke="#4fb3ff" stroke-width="1.5" vector-effect="non-scaling-stroke" points=""></polyline>
    </svg>
    <div id="chartScale" class="mono" style="color:var(--dim)"></div>
  </section>
  <section class="wide">
    <h2>Peers</h2>
    <table><thead><tr><th>peer</th><th style="width:5.5rem">direction</th><th style="width:13rem">address</th><th style="width:5rem">up</th><th style="width:5rem">rtt</th><th style="width:5rem">height</th><th style="width:4rem">score</th><th style="width:6rem">in</th><th style="width:6rem">out</th><th style="width:12rem">agent</th></tr></thead>
    <tbody id="peerTable" data-testid="peer-table"></tbody></table>
    <table style="margin-top:.6rem"><thead><tr><th>banned</th><th style="width:9rem">code</th><th style="width:12rem">until</th><th>reason</th></tr></thead>
    <tbody id="banTable" data-testid="ban-table"></tbody></table>
  </section>
  <section class="wide">
    <h2>Recent blocks</h2>
    <table><thead><tr><th style="width:6rem">height</th><th>hash</th><th style="width:5rem">txs</th><th style="width:14rem">time</th></tr></thead>
    <tbody id="blocks"></tbody></table>
  </section>
  <section>
    <h2>Reorganisations</h2>
    <table><thead><tr><th>depth</th><th>fork point</th><th>new tip</th><th>returned txs</th></tr></thead>
    <tbody id="reorgs"></tbody></table>
  </section>
  <section>
    <h2>Security log</h2>
    <table><thead><tr><th style="width:9rem">time</th><th>code</th><th>kind</th><th>peer</th></tr></thead>
    <tbody id="security"></tbody></table>
  </section>
</main>
<script src="/dashboard.js"></script>
</body>
</html>
`;

const SCRIPT = `"use strict";
(function () {
  // A fallback poll for what no event announces; "?poll=<seconds>" in the page's URL overrides it.
  var POLL_MS = (Number(new URLSearchParams(location.search).get("poll")) || 15) * 1000;
  var HISTORY_MS = 120000;
  var RECONNECT_MS = 5000;
  var PEER_DETAIL_MS = 2000;
  var hashrates = [];
  var stream = { state: "connecting", events: 0, lastId: "", lastTopic: "" };

  function $(id) { return document.getElementById(id); }
  function text(id, value) { var el = $(id); if (el.textContent !== String(value)) el.textContent = String(value); }
  function short(hash) { return hash ? hash.slice(0, 16) + "…" : "–"; }
  function time(seconds) { return new Date(seconds * 1000).toLocaleString(); }
  function rate(hs) {
    var units = ["H/s", "kH/s", "MH/s", "GH/s"]; var i = 0; hs = Number(hs) || 0;
    while (hs >= 1000 && i < units.length - 1) { hs /= 1000; i++; }
    return hs.toFixed(i === 0 ? 0 : 2) + " " + units[i];
  }
  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }
  function age(sinceMs) {
    var s = Math.max(0, Math.round((Date.now() - sinceMs) / 1000));
    return s < 120 ? s + " s" : s < 7200 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h";
  }
  function get(method, query) {
    return fetch("/api/" + method + (query ? "?" + query : ""), { cache: "no-store" }).then(function (res) {
      if (!res.ok) throw new Error(method + ": HTTP " + res.status);
      return res.json();
    });
  }
  function rows(tbodyId, items, columns, emptyText) {
    var body = $(tbodyId);
    var fresh = document.createDocumentFragment();
    if (items.length === 0) {
      var tr = document.createElement("tr"); var td = document.createElement("td");
      td.colSpan = body.parentElement.querySelectorAll("th").length; td.className = "empty"; td.textContent = emptyText; tr.appendChild(td); fresh.appendChild(tr);
    }
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      columns(item).forEach(function (cell) {
        var td = document.createElement("td"); td.textContent = String(cell); tr.appendChild(td);
      });
      fresh.appendChild(tr);
    });
    body.replaceChildren(fresh);
  }
  function drawChart() {
    var now = Date.now();
    while (hashrates.length > 0 && now - hashrates[0].t > HISTORY_MS) hashrates.shift();
    var max = Math.max.apply(null, hashrates.map(function (s) { return s.h; }).concat([1]));
    var points = hashrates.map(function (s) {
      // samples placed by time: now at the right edge, two minutes ago at the left
      var x = 300 - ((now - s.t) / HISTORY_MS) * 300;
      var y = 98 - (s.h / max) * 94;
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    $("chartLine").setAttribute("points", points.join(" "));
    var span = hashrates.length > 0 ? Math.round((now - hashrates[0].t) / 1000) : 0;
    text("chartScale", "max " + rate(max) + " over the last " + span + " s");
  }
  function showConn(failure) {
    var conn = $("conn");
    if (failure) { conn.className = "down"; conn.textContent = "node not answering (" + failure + ")"; return; }
    var live = stream.state === "live";
    conn.className = live ? "" : "down";
    conn.textContent = (live ? "live" : "events " + stream.state + ", polling every " + POLL_MS / 1000 + " s") +
      " · updated " + new Date().toLocaleTimeString() +
      (stream.lastId ? " · event " + stream.lastId + " (" + stream.lastTopic + ")" : "");
    conn.dataset.events = String(stream.events);
  }

  function refresh() {
    return Promise.all([
      get("getStatus"), get("getMiningInfo"), get("getRecentBlocks", "count=10"),
      get("getReorgs"), get("getSecurityLog", "limit=20"), get("getMempool"), get("getPeers"),
    ]).then(function (r) {
      var s = r[0], m = r[1], blocks = r[2], reorgs = r[3], security = r[4], mempool = r[5], peers = r[6];
      text("network", s.network);
      text("height", s.height);
      text("tip", s.tip);
      text("tipTime", time(s.tipTime));
      text("chainWork", s.chainWork);
      text("peerId", s.peerId);
      text("peers", s.peers);
      text("halted", s.halted ? "HALTED (" + s.halted.code + "): " + s.halted.reason : "writing");
      text("sync", s.syncing
        ? "syncing to " + s.sync.targetHeight + " (" + s.sync.blocksPerSecond.toFixed(1) + " blocks/s" +
          (s.sync.etaSeconds == null ? "" : ", ETA " + Math.round(s.sync.etaSeconds) + " s") + ")"
        : "in sync (best known height " + s.sync.targetHeight + ")");
      // Headers-first: headers checked, then bodies imported, each against its own target.
      text("syncHeaders", s.sync.headers.height + " / " + s.sync.headers.targetHeight);
      text("syncBlocks", s.sync.blocks.height + " / " + s.sync.blocks.targetHeight);
      text("listen", (s.listen || []).join(" "));
      text("mempoolSize", mempool.size);
      text("mempoolBytes", mempool.bytes);
      text("mempoolSenders", mempool.senders == null ? "–" : mempool.senders);
      text("mining", m.mining ? "yes, " + m.threads + " thread(s)" : "no");
      text("hashrate", rate(m.hashrate));
      text("blocksMined", m.blocksMined);
      hashrates.push({ t: Date.now(), h: Number(m.hashrate) || 0 });
      drawChart();
      rows("peerTable", peers.peers, function (p) {
        return [p.peerId, p.direction, p.address, age(p.connectedSinceMs), p.latencyMs == null ? "–" : p.latencyMs + " ms",
          p.height == null ? "–" : p.height, p.score, bytes(p.bytesIn), bytes(p.bytesOut), p.agent || "–"];
      }, "no peers connected");
      rows("banTable", peers.bans, function (b) {
        return [b.target, b.code, new Date(b.untilMs).toLocaleString(), b.reason];
      }, "no bans");
      rows("blocks", blocks, function (b) { return [b.height, b.hash, b.txs, time(b.time)]; }, "no blocks yet");
      rows("reorgs", reorgs.slice().reverse().slice(0, 10), function (x) {
        return [x.depth, x.forkPoint.height + " " + short(x.forkPoint.hash), x.newTip.height + " " + short(x.newTip.hash), x.returnedTransactions.length];
      }, "none since start");
      rows("security", security, function (e) {
        return [e.timeMs ? new Date(e.timeMs).toLocaleTimeString() : "", e.code, e.kind || "", e.peerId || ""];
      }, "nothing recorded");
      showConn();
    }).catch(function (err) {
      showConn(err.message);
    });
  }

  // One refresh at a time; events that arrive meanwhile ask for one more, at most four a second
  // (a node catching up connects hundreds of blocks a second).
  var MIN_GAP_MS = 250;
  var running = false;
  var again = false;
  function update() {
    if (running) { again = true; return; }
    running = true;
    var started = Date.now();
    refresh().then(function () {
      setTimeout(function () {
        running = false;
        if (again) { again = false; update(); }
      }, Math.max(0, MIN_GAP_MS - (Date.now() - started)));
    });
  }

  // Every event means something on the page changed: re-read it. A tip also shows its height at
  // once, before the REST answers arrive.
  function listen() {
    var source = new EventSource("/events");
    source.onopen = function () { stream.state = "live"; update(); };
    source.onerror = function () {
      // The browser reconnects by itself (sending Last-Event-ID) unless the stream was refused.
      stream.state = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
      showConn();
      if (source.readyState === EventSource.CLOSED) setTimeout(listen, RECONNECT_MS);
    };
    ["tip", "reorg", "tx", "peer", "halt"].forEach(function (topic) {
      source.addEventListener(topic, function (e) {
        stream.events++; stream.lastId = e.lastEventId; stream.lastTopic = topic;
        if (topic === "tip") {
          var tip = JSON.parse(e.data);
          var shown = Number($("height").textContent);
          if (!(shown > tip.height)) { text("height", tip.height); text("tip", tip.hash); }
        }
        update();
        // a new peer's agent and round-trip time are known a moment after it connected
        if (topic === "peer") setTimeout(update, PEER_DETAIL_MS);
      });
    });
    // missed events (the node restarted, or this page fell too far behind): the refresh covers them
    source.addEventListener("gap", update);
    source.addEventListener("dropped", update);
  }

  function poll() { update(); setTimeout(poll, POLL_MS); }
  listen();
  poll();
})();
`;

/** The dashboard's static pages, keyed by path, for `ApiServerDeps.pages`. */
export function dashboardPages(): Record<string, StaticPage> {
  return pageWithScript("/", HTML, "/dashboard.js", SCRIPT);
}
