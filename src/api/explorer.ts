/**
 * The block explorer: one HTML page and one script at `/explorer` and `/explorer.js`, served like
 * the dashboard (same content security policy: no inline script, nothing external). Pages are
 * hash routes rendered in the browser from the read-only REST API:
 *   #/block/<hash|height>   getBlock + getBlockHeader (parent and child links)
 *   #/tx/<id>               getTransaction (status, block, confirmations, fee)
 *   #/address/<addr>[/<cursor>]  getAddressHistory, newest first, paged; re-read on every new tip
 *                           (GET /events?topics=tip,reorg) so a mined transfer shows up by itself
 *   #/search/<text>         a height, a block hash, a tx id or an address, resolved in that order
 * `/explorer?q=<text>` (the dashboard's search form, which needs no script) is a search too. An
 * unknown id or malformed input shows "not found" with the node's one-line reason; everything that
 * came from the node is written with `textContent`, never parsed as HTML.
 */

import { pageHead, pageWithScript, type StaticPage } from "./static-page.js";

const HTML = `${pageHead("Quarry explorer")}
  header { display:flex; gap:1rem; align-items:center; padding:.8rem 1.2rem; border-bottom:1px solid #263040; }
  header h1 { margin:0; font-size:1.2rem; }
  header a { color:var(--dim); }
  form { display:flex; gap:.4rem; flex:1; max-width:48rem; }
  input { flex:1; background:var(--panel); color:var(--text); border:1px solid #263040; border-radius:4px; padding:.35rem .5rem; font-family:ui-monospace, monospace; }
  button { background:#263040; color:var(--text); border:0; border-radius:4px; padding:.35rem .8rem; cursor:pointer; }
  main { padding:1rem 1.2rem; }
  section { background:var(--panel); border-radius:6px; padding:.8rem 1rem; margin-bottom:1rem; min-width:0; }
  h2 { margin:0 0 .5rem; font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); }
  dl { display:grid; grid-template-columns:max-content 1fr; gap:.2rem .8rem; margin:0; }
  dt { color:var(--dim); } dd { margin:0; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; font-family:ui-monospace, monospace; font-size:.9em; }
  table { width:100%; border-collapse:collapse; table-layout:fixed; }
  th, td { text-align:left; padding:.15rem .4rem; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  td { font-family:ui-monospace, monospace; font-size:.85em; }
  th { color:var(--dim); font-weight:normal; font-size:.8rem; }
  tr:nth-child(even) td { background:#1c2530; }
  a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
  .notfound { color:var(--bad); font-size:1.1rem; }
  .dim { color:var(--dim); } .in { color:var(--ok); } .out { color:var(--bad); }
  nav.pager { margin-top:.6rem; display:flex; gap:1rem; }
</style>
</head>
<body>
<header><h1><a href="/explorer#/">Quarry explorer</a></h1>
<form id="search"><input id="q" name="q" placeholder="height, block hash, tx id or address" autocomplete="off" spellcheck="false"><button type="submit">Search</button></form>
<a href="/">dashboard</a><span id="live" class="dim"></span></header>
<main id="view" data-testid="view"><p class="dim">loading…</p></main>
<script src="/explorer.js"></script>
</body>
</html>
`;

const SCRIPT = `"use strict";
(function () {
  var PAGE_SIZE = Number(new URLSearchParams(location.search).get("pageSize")) || 25;
  var HEX64 = /^[0-9a-f]{64}$/;
  var current = { route: "", render: null };
  // Bumped on every navigation: an answer for an older page is dropped, never shown over a newer one.
  var generation = 0;
  var view = document.getElementById("view");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = String(attrs[k]);
      else node.setAttribute(k, String(attrs[k]));
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function link(route, label) { return el("a", { href: "#/" + route, text: label }); }
  function blockLink(id, label) { return link("block/" + encodeURIComponent(id), label == null ? id : label); }
  function txLink(id) { return link("tx/" + encodeURIComponent(id), id); }
  function addrLink(a) { return a ? link("address/" + encodeURIComponent(a), a) : el("span", { class: "dim", text: "–" }); }
  function time(seconds) { return new Date(seconds * 1000).toLocaleString(); }
  function section(title, children) { return el("section", {}, [el("h2", { text: title })].concat(children)); }
  function facts(pairs) {
    var dl = el("dl");
    pairs.forEach(function (p) {
      dl.appendChild(el("dt", { text: p[0] }));
      var dd = el("dd", { "data-field": p[0] });
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = p[1] == null ? "–" : String(p[1]);
      dl.appendChild(dd);
    });
    return dl;
  }
  function table(head, items, cells, empty) {
    var tbody = el("tbody");
    if (items.length === 0) tbody.appendChild(el("tr", {}, [el("td", { colspan: head.length, class: "dim", text: empty })]));
    items.forEach(function (item) {
      var tr = el("tr");
      cells(item).forEach(function (c) {
        var td = el("td");
        if (c instanceof Node) td.appendChild(c); else td.textContent = c == null ? "–" : String(c);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    return el("table", {}, [el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]), tbody]);
  }
  function show(nodes, title, gen) {
    if (gen !== undefined && gen !== generation) return;
    view.replaceChildren.apply(view, nodes);
    document.title = (title ? title + " · " : "") + "Quarry explorer";
  }

  /** A REST read: resolves the JSON answer, or rejects with {status, message} (never a stack). */
  function get(method, params) {
    var query = new URLSearchParams(params || {}).toString();
    return fetch("/api/" + method + (query ? "?" + query : ""), { cache: "no-store" }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) throw { status: res.status, message: (body && body.error) || "HTTP " + res.status, data: body && body.data };
        return body;
      });
    }, function () { throw { status: 0, message: "the node is not answering" }; });
  }
  function notFound(what, err, gen) {
    var reason = err && err.status !== 404 && err.message ? String(err.message) : "";
    show([section("not found", [
      el("p", { class: "notfound", "data-testid": "not-found", text: "not found: " + what }),
      reason ? el("p", { class: "dim", text: reason }) : null,
    ])], "not found", gen);
  }

  function renderBlock(id) {
    var gen = generation;
    return get("getBlock", { id: id }).then(function (b) {
      return get("getBlockHeader", { id: b.hash }).then(function (h) { return [b, h]; });
    }).then(function (r) {
      var b = r[0], h = r[1];
      var fee = 0n;
      b.txs.forEach(function (t) { if (t.fee) fee += BigInt(t.fee); });
      show([
        section("block " + b.height, [facts([
          ["height", b.height], ["hash", b.hash], ["status", h.status + (b.mainChain ? "" : " (not on the main chain)")],
          ["confirmations", b.confirmations], ["time", time(b.header.time)],
          ["parent", b.height > 0 ? blockLink(b.header.prevHash) : null],
          ["child", h.nextBlockHash ? blockLink(h.nextBlockHash) : null],
          ["bits", b.header.bits], ["nonce", b.header.nonce], ["chain work", b.chainWork],
          ["merkle root", b.header.merkleRoot], ["state root", b.header.stateRoot],
          ["transactions", b.txs.length], ["fees", fee.toString()],
        ])]),
        section("transactions", [table(["tx id", "type", "from", "to", "amount", "fee"], b.txs, function (t) {
          return [txLink(t.id), t.type, t.sender ? addrLink(t.sender) : "coinbase", addrLink(t.recipient), t.amount, t.fee || "0"];
        }, "no transactions")]),
      ], "block " + b.height, gen);
    }, function (err) { notFound("block " + id, err, gen); });
  }

  function renderTx(id) {
    var gen = generation;
    return get("getTransaction", { id: id }).then(function (t) {
      show([section("transaction", [facts([
        ["id", t.id], ["status", t.status], ["type", t.type],
        ["block", t.blockHash ? blockLink(t.blockHash) : null], ["height", t.height],
        ["confirmations", t.status === "confirmed" ? t.confirmations : 0],
        ["from", t.sender ? addrLink(t.sender) : "coinbase"], ["to", addrLink(t.recipient)],
        ["amount", t.amount], ["fee", t.fee || "0"], ["nonce", t.nonce],
      ])])], "tx " + id.slice(0, 12), gen);
    }, function (err) { notFound("transaction " + id, err, gen); });
  }

  function renderAddress(address, cursor) {
    var gen = generation;
    var params = { address: address, limit: String(PAGE_SIZE), reverse: "true" };
    if (cursor) params.cursor = cursor;
    return get("getAddressHistory", params).then(function (h) {
      var pager = el("nav", { class: "pager" }, [
        cursor ? link("address/" + encodeURIComponent(h.address), "newest") : null,
        h.nextCursor ? link("address/" + encodeURIComponent(h.address) + "/" + encodeURIComponent(h.nextCursor), "older →") : null,
      ]);
      show([
        section("address", [facts([["address", h.address], ["balance", h.balance], ["nonce", h.nonce], ["tip height", h.height]])]),
        section("history" + (cursor ? " (older)" : ", newest first"), [
          table(["height", "tx id", "direction", "change", "fee", "counterparty", "confirmations"], h.txs, function (t) {
            var change = el("span", { class: t.delta.charAt(0) === "-" ? "out" : "in", text: t.delta });
            return [blockLink(t.blockHash || String(t.height), String(t.height)), txLink(t.txid), t.direction, change, t.fee, addrLink(t.counterparty), t.confirmations];
          }, "no transactions"),
          pager,
        ]),
      ], "address " + h.address.slice(0, 16), gen);
    }, function (err) {
      if (err && err.data && err.data.code === "ADDRESS_INDEX_DISABLED")
        show([section("address", [el("p", { class: "notfound", "data-testid": "index-disabled", text: err.message })])], "address", gen);
      else notFound("address " + address, err, gen);
    });
  }

  /** A height, then a block hash, a tx id, an address: the first that exists. */
  function search(text) {
    var q = text.trim();
    var gen = ++generation;
    // The page shown until the search resolves is no longer live: a new tip must not redraw it
    // over the search's answer ("not found" included).
    current.render = null;
    if (/^\\d{1,10}$/.test(q)) return go("block/" + q);
    if (HEX64.test(q.toLowerCase())) {
      q = q.toLowerCase();
      return get("getBlockHeader", { id: q }).then(function () { go("block/" + q); }, function () {
        return get("getTransaction", { id: q }).then(function () { go("tx/" + q); }, function (err) { notFound(q, err, gen); });
      });
    }
    return get("getAccount", { address: q }).then(function () { go("address/" + encodeURIComponent(q)); }, function (err) {
      notFound(q, err.status === 400 ? { status: 404 } : err, gen);
    });
  }

  function go(to) {
    if (location.hash === "#/" + to) route();
    else location.hash = "#/" + to;
  }

  function renderHome() {
    var gen = generation;
    return get("getRecentBlocks", { count: "20" }).then(function (blocks) {
      show([section("recent blocks", [table(["height", "hash", "txs", "time"], blocks, function (b) {
        return [blockLink(String(b.height)), blockLink(b.hash), b.txs, time(b.time)];
      }, "no blocks")])], "", gen);
    }, function (err) { notFound("recent blocks", err, gen); });
  }

  function route() {
    var parts = location.hash.replace(/^#\\/?/, "").split("/").map(function (p) {
      try { return decodeURIComponent(p); } catch (e) { return p; }
    });
    var kind = parts[0], arg = parts[1] || "";
    generation++;
    current.route = location.hash;
    if (kind === "block" && arg) current.render = function () { return renderBlock(arg); };
    else if (kind === "tx" && arg) current.render = function () { return renderTx(arg); };
    else if (kind === "address" && arg) current.render = function () { return renderAddress(arg, parts[2]); };
    else if (kind === "search" && arg) { current.render = null; return search(arg); }
    else current.render = renderHome;
    return current.render();
  }

  document.getElementById("search").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = document.getElementById("q").value;
    if (q.trim()) search(q);
  });
  window.addEventListener("hashchange", route);

  // Pages that change with the chain (an address's history, a block's confirmations, home) are
  // read again on every new tip or reorg. An event during a refresh is not dropped (that refresh
  // may have read the chain before it): one more refresh follows.
  var pending = false;
  var again = false;
  function refreshLive() {
    if (!current.render) return;
    if (pending) { again = true; return; }
    pending = true;
    var done = function () {
      pending = false;
      if (again) { again = false; refreshLive(); }
    };
    current.render().then(done, done);
  }
  function listen() {
    var source = new EventSource("/events?topics=tip,reorg");
    var live = document.getElementById("live");
    source.onopen = function () { live.textContent = "live"; };
    source.onerror = function () {
      live.textContent = "events reconnecting";
      if (source.readyState === EventSource.CLOSED) setTimeout(listen, 5000);
    };
    source.addEventListener("tip", refreshLive);
    source.addEventListener("reorg", refreshLive);
    source.addEventListener("gap", refreshLive);
  }

  var q = new URLSearchParams(location.search).get("q");
  if (q && !location.hash) search(q); else route();
  listen();
})();
`;

/** The explorer's static pages, keyed by path, for `ApiServerDeps.pages`. */
export function explorerPages(): Record<string, StaticPage> {
  return pageWithScript("/explorer", HTML, "/explorer.js", SCRIPT);
}
