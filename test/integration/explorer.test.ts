import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAddress } from "../helpers/chain-builder.js";
import { chromiumTestsRun, launchChromium } from "../helpers/chromium.js";
import { mineOffline, ProcessNode, quarryOk, restGet, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The address index and the explorer end to end: a datadir mined offline (no index) is indexed
 * when the node starts; getAddressHistory over JSON-RPC, REST and `quarry address history`; the
 * explorer at /explorer in real headless Chromium (Debian's package, driven by playwright-core):
 * search by height, block hash, tx id and address, "not found", paging, and an address page that
 * shows a transfer to it once it is mined, without a reload. Last, a restart with
 * --no-address-index deletes the index and the method answers -32006 ADDRESS_INDEX_DISABLED.
 *
 * Needs /usr/bin/chromium; without it the browser tests are skipped unless QUARRY_REQUIRE_CHROMIUM=1.
 */
const PW = { env: { QUARRY_PASSWORD: "explorer-pw" } };
const BOB = testAddress(2);
const CAROL = testAddress(3);

interface HistoryTx {
  txid: string;
  height: number;
  blockHash: string;
  direction: string;
  amount: string;
  fee: string;
  delta: string;
  counterparty: string | null;
}
interface History {
  address: string;
  balance: string;
  nonce: string;
  txs: HistoryTx[];
  nextCursor: string | null;
}

describe("address index and explorer", () => {
  let tmp: { path: string; cleanup: () => void };
  let datadir: string;
  let miner: string;
  let node: ProcessNode | undefined;
  let context: BrowserContext | undefined;
  const sent: string[] = [];

  const at = () => ["--datadir", datadir];
  const send = async (to: string, amount: number): Promise<string> => {
    const r = await quarryOk(
      ["tx", "send", "--from", "m", "--to", to, "--amount", String(amount), ...at()],
      PW,
    );
    return r.stdout.trim();
  };
  const rpcRaw = async (method: string, params: unknown) => {
    const res = await fetch(`${node!.apiUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return (await res.json()) as {
      result?: History;
      error?: { code: number; message: string; data?: { param?: string; code?: string } };
    };
  };
  const history = (address: string, extra: Record<string, string> = {}) =>
    restGet<History>(node!.apiUrl, "getAddressHistory", { address, ...extra });

  beforeAll(async () => {
    tmp = tempDir("quarry-explorer-");
    datadir = join(tmp.path, "node");
    await quarryOk(["init", "--network", "regtest", ...at()]);
    const key = await quarryOk(["keys", "new", "--light", "--name", "m", "--json", ...at()], PW);
    miner = (JSON.parse(key.stdout) as { address: string }).address;
    // Offline mining keeps no index (it follows the store, which has none): the node builds it.
    await mineOffline(datadir, 20, miner);
    node = await ProcessNode.start({ datadir, minerKey: "m" });
    for (let i = 0; i < 3; i++) sent.push(await send(BOB, 1000 + i));
    await waitFor(
      async () => (await history(BOB)).txs.length === 3,
      60_000,
      "bob's three transfers mined and indexed",
    );
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.stop();
    tmp?.cleanup();
  });

  it("builds the index at start on a datadir mined without it, then keeps it as blocks connect", async () => {
    const lines = node!.logLines();
    const built = lines.find((l) => l.msg === "address index built");
    expect(built, node!.tail()).toBeDefined();
    expect(Number(built!.height)).toBeGreaterThanOrEqual(20);
    // the whole history of the miner, page by page (it mines on, so it grows meanwhile)
    const all: HistoryTx[] = [];
    let cursor: string | null = null;
    do {
      const page: History = await history(miner, { limit: "500", ...(cursor ? { cursor } : {}) });
      all.push(...page.txs);
      cursor = page.nextCursor;
    } while (cursor);
    // every offline block's coinbase, in height order, and the transfers paid out of them
    expect(all.slice(0, 20).map((t) => [t.height, t.direction])).toEqual(
      Array.from({ length: 20 }, (_, i) => [i + 1, "coinbase"]),
    );
    expect(all.filter((t) => t.direction === "out").map((t) => t.txid)).toEqual(sent);
    expect(all.filter((t) => t.direction === "out").map((t) => t.delta)).toEqual(["-2000", "-2001", "-2002"]);
    const b = await history(BOB);
    expect(b.txs.map((t) => t.txid)).toEqual(sent);
    expect(b.txs.map((t) => [t.direction, t.amount, t.delta, t.counterparty])).toEqual([
      ["in", "1000", "1000", miner],
      ["in", "1001", "1001", miner],
      ["in", "1002", "1002", miner],
    ]);
    expect(b.balance).toBe("3003");
    // each entry names the main-chain block that holds it
    const tx = await restGet<{ blockHash: string; height: number }>(node!.apiUrl, "getTransaction", {
      id: sent[0]!,
    });
    expect([b.txs[0]!.blockHash, b.txs[0]!.height]).toEqual([tx.blockHash, tx.height]);
  }, 60_000);

  it("pages with a cursor both ways, over JSON-RPC (named and positional) and REST", async () => {
    const first = await rpcRaw("getAddressHistory", { address: BOB, limit: 2 });
    expect(first.result!.txs.map((t) => t.txid)).toEqual(sent.slice(0, 2));
    expect(first.result!.nextCursor).toMatch(/^\d+:\d+$/);
    const second = await rpcRaw("getAddressHistory", [BOB, 2, first.result!.nextCursor]);
    expect(second.result!.txs.map((t) => t.txid)).toEqual(sent.slice(2));
    expect(second.result!.nextCursor).toBeNull();
    const newest = await history(BOB, { limit: "2", reverse: "true" });
    expect(newest.txs.map((t) => t.txid)).toEqual([sent[2], sent[1]]);
    const oldest = await history(BOB, { limit: "2", reverse: "true", cursor: newest.nextCursor! });
    expect(oldest.txs.map((t) => t.txid)).toEqual([sent[0]]);
    expect((await history(CAROL)).txs).toEqual([]);
  });

  it.each([
    ["address", { address: "qrt1notanaddress" }],
    ["address", { limit: 5 }],
    ["limit", { address: BOB, limit: 0 }],
    ["limit", { address: BOB, limit: "ten" }],
    ["cursor", { address: BOB, cursor: "tip" }],
    ["cursor", { address: BOB, cursor: "1:99999999" }],
    ["reverse", { address: BOB, reverse: "sideways" }],
  ])("a bad '%s' is -32602 naming the field (%j)", async (field, params) => {
    const r = await rpcRaw("getAddressHistory", params);
    expect(r.error?.code).toBe(-32602);
    expect(r.error?.data?.param).toBe(field);
    expect(r.error?.message).toContain(field);
  });

  it("quarry address history prints a page and the next cursor; a bad address is one line and exit 1", async () => {
    const json = await quarryOk(["address", "history", BOB, "--limit", "2", "--json", ...at()]);
    const page = JSON.parse(json.stdout) as History;
    expect(page.txs.map((t) => t.txid)).toEqual(sent.slice(0, 2));
    const text = await quarryOk(["address", "history", BOB, "--cursor", page.nextCursor!, ...at()]);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).toContain(`${BOB}  balance 3003`);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(sent[2]);
    expect(lines[1]).toContain(`from ${miner}`);
    const bad = await runQuarry(["address", "history", "qrt1bogus", ...at()]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("parameter 'address'");
  }, 60_000);

  describe.skipIf(!chromiumTestsRun())("explorer in headless Chromium", () => {
    let errors: string[];

    /** The browser, launched by the first page (lazily: one launch for the tests of this block). */
    const launch = async (): Promise<BrowserContext> => {
      context ??= await launchChromium(join(tmp.path, "chromium-profile"));
      return context;
    };
    const newPage = async (): Promise<Page> => {
      const page = await (await launch()).newPage();
      errors = [];
      page.on("pageerror", (err) => errors.push(err.message));
      return page;
    };
    const field = (page: Page, name: string) => page.locator(`dd[data-field="${name}"]`).textContent();
    const search = async (page: Page, text: string) => {
      await page.fill("#q", text);
      await page.click("#search button");
    };

    it("search finds a block by height and by hash, a transaction by id, an address; unknown ones are 'not found'", async () => {
      const page = await newPage();
      await page.goto(`${node!.apiUrl}/explorer`);
      const block5 = await restGet<{ hash: string }>(node!.apiUrl, "getBlock", { id: "5" });
      const block6 = await restGet<{ hash: string }>(node!.apiUrl, "getBlock", { id: "6" });

      await search(page, "5");
      await waitFor(async () => (await field(page, "hash")) === block5.hash, 15_000, "block 5's page");
      expect(await field(page, "parent")).toBe(
        (await restGet<{ header: { prevHash: string } }>(node!.apiUrl, "getBlock", { id: "5" })).header
          .prevHash,
      );
      expect(await field(page, "child")).toBe(block6.hash);
      // the child link leads to block 6
      await page.click('dd[data-field="child"] a');
      await waitFor(async () => (await field(page, "height")) === "6", 15_000, "block 6 by its child link");

      await search(page, block5.hash.toUpperCase());
      await waitFor(async () => (await field(page, "height")) === "5", 15_000, "block 5 by hash");

      await search(page, sent[1]!);
      await waitFor(async () => (await field(page, "id")) === sent[1], 15_000, "the transfer's page");
      expect(await field(page, "status")).toBe("confirmed");
      expect(await field(page, "fee")).toBe("1000");
      expect(Number(await field(page, "confirmations"))).toBeGreaterThanOrEqual(1);
      const tx = await restGet<{ blockHash: string }>(node!.apiUrl, "getTransaction", { id: sent[1]! });
      expect(await field(page, "block")).toBe(tx.blockHash);

      await search(page, BOB);
      await waitFor(async () => (await field(page, "address")) === BOB, 15_000, "bob's page");
      expect(await field(page, "balance")).toBe("3003");
      const rows = await page.locator("tbody tr").allTextContents();
      expect(rows).toHaveLength(3);
      expect(rows[0]).toContain(sent[2]); // newest first

      for (const unknown of ["ab".repeat(32), "qrt1bogus", "not a thing", "99999999"]) {
        await search(page, unknown);
        await waitFor(
          async () => {
            const shown = page.locator('[data-testid="not-found"]');
            return (await shown.count()) === 1 && ((await shown.textContent()) ?? "").includes(unknown);
          },
          15_000,
          `"not found" for ${unknown}`,
        );
        const view = (await page.textContent("#view")) ?? "";
        expect(view).toContain("not found");
        expect(view).not.toMatch(/at \w+ \(|Error:|stack/);
      }
      // a direct link to an unknown block or tx, too
      await page.goto(`${node!.apiUrl}/explorer#/tx/${"cd".repeat(32)}`);
      await waitFor(
        async () => (await page.locator('[data-testid="not-found"]').count()) === 1,
        15_000,
        "not found for an unknown tx link",
      );
      // the dashboard's search form (no script needed) lands on the explorer's result
      await page.goto(`${node!.apiUrl}/`);
      await page.fill('form[action="/explorer"] input[name="q"]', "5");
      await page.click('form[action="/explorer"] button');
      await waitFor(
        async () => (await field(page, "hash").catch(() => "")) === block5.hash,
        15_000,
        "block 5 from the dashboard's search",
      );
      expect(errors).toEqual([]);
      await page.close();
    }, 90_000);

    it("pages an address's history and shows a transfer to it once mined, without a reload", async () => {
      const page = await newPage();
      await page.goto(`${node!.apiUrl}/explorer?pageSize=2#/address/${BOB}`);
      await waitFor(async () => (await page.locator("tbody tr").count()) === 2, 15_000, "bob's first page");
      expect(await page.locator("tbody tr").first().textContent()).toContain(sent[2]);
      await page.click("text=older →");
      await waitFor(
        async () => {
          const rows = await page.locator("tbody tr").allTextContents();
          return rows.length === 1 && rows[0]!.includes(sent[0]!);
        },
        15_000,
        "bob's second page",
      );

      await page.goto(`${node!.apiUrl}/explorer#/address/${CAROL}`);
      await waitFor(
        async () => ((await page.textContent("tbody")) ?? "").includes("no transactions"),
        15_000,
        "carol's empty history",
      );
      await waitFor(
        async () => (await page.textContent("#live")) === "live",
        15_000,
        "the event stream open",
      );
      await page.evaluate(() => {
        (globalThis as unknown as { marker: number }).marker = 42;
      });
      const txid = await send(CAROL, 777);
      const row = await waitFor(
        async () => {
          const rows = await page.locator("tbody tr").allTextContents();
          return rows.length === 1 && rows[0]!.includes(txid) ? rows[0] : undefined;
        },
        60_000,
        "carol's page to show the mined transfer",
      );
      expect(row).toContain("in");
      expect(await field(page, "balance")).toBe("777");
      // the same document: the page updated itself from the event stream
      expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  });

  it("--no-address-index deletes the index; the method answers -32006 ADDRESS_INDEX_DISABLED everywhere", async () => {
    await node!.stop();
    node = await ProcessNode.start({ datadir, args: ["--no-address-index"] });
    expect(node.logLines().some((l) => l.msg === "address index deleted (--no-address-index)")).toBe(true);
    const r = await rpcRaw("getAddressHistory", { address: BOB });
    expect(r.error?.code).toBe(-32006);
    expect(r.error?.data?.code).toBe("ADDRESS_INDEX_DISABLED");
    const rest = await fetch(`${node.apiUrl}/api/getAddressHistory?address=${BOB}`);
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { data: { code: string } }).data.code).toBe("ADDRESS_INDEX_DISABLED");
    const cli = await runQuarry(["address", "history", BOB, ...at()]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);
    expect(cli.stderr).toContain("[ADDRESS_INDEX_DISABLED]");
    if (context) {
      const page = await context.newPage();
      await page.goto(`${node.apiUrl}/explorer#/address/${BOB}`);
      await waitFor(
        async () => (await page.locator('[data-testid="index-disabled"]').count()) === 1,
        15_000,
        "the explorer saying the index is off",
      );
      await page.close();
    }
    // and on again: rebuilt at start from the stored blocks
    await node.stop();
    node = await ProcessNode.start({ datadir });
    expect((await history(BOB)).txs.map((t) => t.txid)).toEqual(sent);
  }, 120_000);
});
