import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/primitives/index.js";
import { testKey } from "../helpers/chain-builder.js";
import { quarryOk, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";

/** `quarry export-blocks` / `import-blocks` as real processes: round trip, idempotence, refusal. */

const x = tempDir("quarry-pkgX-");
const y = tempDir("quarry-pkgY-");
afterAll(() => {
  x.cleanup();
  y.cleanup();
});
const net = (dir: string) => ["--network", "regtest", "--datadir", dir];
const info = async (dir: string) =>
  JSON.parse((await quarryOk(["chain", "info", ...net(dir), "--json"])).stdout) as {
    height: number;
    tip: string;
  };

describe("block packages through the CLI", () => {
  it("exports a signed range, imports it all-or-nothing and idempotently", async () => {
    const pw = join(x.path, "pw");
    writeFileSync(pw, "pkg-pw\n", { mode: 0o600 });
    await quarryOk([
      "keys",
      "import",
      "--seed-hex",
      toHex(testKey(60).seed),
      "--name",
      "m",
      "--light",
      "--password-file",
      pw,
      ...net(x.path),
    ]);
    await quarryOk(["mine", "--offline", "--blocks", "6", "--key", "m", "--threads", "1", ...net(x.path)]);
    const pkg = join(x.path, "blocks.pkg");
    await quarryOk([
      "export-blocks",
      "--from",
      "1",
      "--to",
      "6",
      "--key",
      "m",
      "--password-file",
      pw,
      "--out",
      pkg,
      ...net(x.path),
    ]);

    // A tampered copy (one block byte) is refused, and the store is untouched.
    const bytes = readFileSync(pkg);
    const bad = Buffer.from(bytes);
    bad[bad.length - 200]! ^= 1;
    writeFileSync(join(x.path, "bad.pkg"), bad);
    const refused = await runQuarry(["import-blocks", join(x.path, "bad.pkg"), ...net(y.path)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("PACKAGE_BAD_SIGNATURE");
    // refused before the datadir was touched: y still has no chain store (and no datadir.json)
    expect(existsSync(join(y.path, "chain"))).toBe(false);
    expect(existsSync(join(y.path, "datadir.json"))).toBe(false);

    const first = JSON.parse((await quarryOk(["import-blocks", pkg, ...net(y.path), "--json"])).stdout);
    expect(first).toMatchObject({ imported: 6, skipped: 0, tip: { height: 6 } });
    expect((await info(y.path)).tip).toBe((await info(x.path)).tip);
    const again = JSON.parse((await quarryOk(["import-blocks", pkg, ...net(y.path), "--json"])).stdout);
    expect(again).toMatchObject({ imported: 0, skipped: 6 });
    const wrongSigner = await runQuarry([
      "import-blocks",
      pkg,
      "--signer",
      toHex(testKey(61).publicKey),
      ...net(y.path),
    ]);
    expect(wrongSigner.code).toBe(1);
  }, 60_000);
});
