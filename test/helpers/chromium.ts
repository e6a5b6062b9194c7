import { existsSync } from "node:fs";
import { type BrowserContext, chromium } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (no browser download), for the dashboard and
 * explorer tests. Without /usr/bin/chromium those tests are skipped, unless
 * QUARRY_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails them.
 */
export const CHROMIUM = "/usr/bin/chromium";

/** The browser tests run: Chromium is installed, or it is required (and its absence fails them). */
export const chromiumTestsRun = (): boolean =>
  existsSync(CHROMIUM) || process.env.QUARRY_REQUIRE_CHROMIUM === "1";

/** Throws with the install advice when Chromium is missing (a test required it). */
export function assertChromiumInstalled(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
}

/** Headless Chromium with its profile in `profileDir`; throws with the install advice if missing. */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  assertChromiumInstalled();
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
