import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertChromiumInstalled, chromiumTestsRun, launchChromium } from "../helpers/chromium.js";
import { ProcessNode, restGet, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The dashboard at `/` in real headless Chromium (Debian's package, driven by playwright-core)
 * against a mining node process: a block mined after the page loaded shows up without a reload.
 *
 * Needs /usr/bin/chromium (`apt-get install -y --no-install-recommends chromium`). Without it the
 * test is skipped, unless QUARRY_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails it.
 * The page follows the node's event stream (GET /events); the first test sets its fallback poll to
 * an hour, so what moves the page after the first load can only have come through events.
 */
describe.skipIf(!chromiumTestsRun())("dashboard in headless Chromium", () => {
  let tmp: { path: string; cleanup: () => void };
  let node: ProcessNode | undefined;
  let peer: ProcessNode | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    assertChromiumInstalled();
    tmp = tempDir("quarry-dashboard-");
    const datadir = join(tmp.path, "node");
    const at = ["--network", "regtest", "--datadir", datadir];
    const key = await runQuarry(["keys", "new", "--light", "--name", "miner", ...at], {
      env: { QUARRY_PASSWORD: "dashboard-pw" },
    });
    expect(key.code, key.stderr).toBe(0);
    [node, context] = await Promise.all([
      ProcessNode.start({ datadir, minerKey: "miner" }),
      launchChromium(join(tmp.path, "chromium-profile")),
    ]);
  });

  afterAll(async () => {
    await context?.close();
    await peer?.stop();
    await node?.stop();
    tmp?.cleanup();
  });

  it("shows tip, peers and mining, and a newly mined block appears without reload, through the event stream", async () => {
    const url = node!.apiUrl;
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });
    let documents = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) documents++;
    });

    // The fallback poll an hour away: after the first load, only events from /events move the page.
    await page.goto(`${url}/?poll=3600`);
    const shownHeight = async () => {
      const text = (await page.textContent("#height")) ?? "";
      return /^\d+$/.test(text) ? Number(text) : undefined;
    };
    const eventsSeen = async () => Number((await page.getAttribute("#conn", "data-events")) ?? 0);
    await waitFor(shownHeight, 15_000, "the page to show a height");
    await waitFor(
      async () => ((await page.textContent("#conn")) ?? "").startsWith("live") && (await eventsSeen()) > 0,
      30_000,
      "the event stream open and a first event in",
    );
    const shownFirst = (await shownHeight())!;
    const eventsFirst = await eventsSeen();

    // a block the node mined after the page rendered its first height
    const fresh = await waitFor(
      async () => {
        const s = await restGet<{ height: number; tip: string }>(url, "getStatus");
        return s.height > shownFirst ? s : undefined;
      },
      15_000,
      "a block above the one the page showed",
    );
    await waitFor(
      async () => {
        const h = await shownHeight();
        return h !== undefined && h >= fresh.height;
      },
      15_000,
      `the page to show height ${fresh.height}`,
    );
    // each block connected since is a tip event the page counts
    await waitFor(
      async () => (await eventsSeen()) >= eventsFirst + (fresh.height - shownFirst),
      15_000,
      `${fresh.height - shownFirst} more events counted by the page`,
    );
    // the recent-blocks table moved too; its top row is a real main-chain block (regtest mines
    // several blocks a second at first, so the fresh block itself may have scrolled out already)
    const row = await waitFor(
      async () => {
        const cells = await page.locator("#blocks tr").first().locator("td").allTextContents();
        const height = Number(cells[0]);
        return height >= fresh.height ? { height, hash: cells[1] } : undefined;
      },
      15_000,
      "the recent-blocks table to reach the fresh height",
    );
    const block = await restGet<{ hash: string }>(url, "getBlock", { id: String(row.height) });
    expect(row.hash).toBe(block.hash);
    expect(documents).toBe(1); // updated in place: the page never navigated again

    expect(await page.textContent("#network")).toBe("regtest");
    expect(await page.textContent("#peers")).toBe("0");
    expect(await page.textContent("#mining")).toMatch(/^yes/);
    expect(await page.textContent("#conn")).toMatch(/^live/);
    // Headers-first sync's two stages, each "height / target" (getStatus sync.headers, sync.blocks).
    for (const stage of ["#syncHeaders", "#syncBlocks"]) {
      const shown = (await page.textContent(stage)) ?? "";
      expect(shown).toMatch(/^\d+ \/ \d+$/);
      const [height, target] = shown.split(" / ").map(Number);
      expect(height!).toBeLessThanOrEqual(target!);
      expect(height!).toBeGreaterThanOrEqual(shownFirst);
    }
    const points = await page.getAttribute("#chartLine", "points");
    expect(points?.split(" ").length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it("the peer table shows a peer that joins, and the ban table an operator ban of it", async () => {
    const url = node!.apiUrl;
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${url}/`);
    await waitFor(
      async () => ((await page.textContent("#peerTable")) ?? "").includes("no peers connected"),
      15_000,
      "the empty peer table",
    );
    peer = await ProcessNode.start({ datadir: join(tmp.path, "peer"), bootstrap: [node!.multiaddr] });
    // the row comes with the peer event; its agent once identify has run (a refresh follows)
    const cells = await waitFor(
      async () => {
        const row = page.locator("#peerTable tr").filter({ hasText: peer!.peerId });
        if ((await row.count()) !== 1) return undefined;
        const texts = await row.locator("td").allTextContents();
        return texts[9] !== "–" && texts;
      },
      30_000,
      "the joining peer's row with its agent",
    );
    expect(cells[1]).toBe("inbound");
    expect(cells[2]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    expect(cells[9]).toMatch(/libp2p/);

    await node!.rpc("banPeer", { target: peer.peerId, reason: "dashboard ban" });
    const ban = await waitFor(
      async () => {
        const row = page.locator("#banTable tr").filter({ hasText: peer!.peerId });
        return (await row.count()) === 1 ? row.locator("td").allTextContents() : undefined;
      },
      15_000,
      "the ban's row",
    );
    expect(ban[1]).toBe("OPERATOR_BAN");
    expect(ban[3]).toBe("dashboard ban");
    await waitFor(
      async () => !((await page.textContent("#peerTable")) ?? "").includes(peer!.peerId),
      15_000,
      "the banned peer gone from the peer table",
    );
    expect(errors).toEqual([]);
  });
});
