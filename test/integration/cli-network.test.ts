import { randomBytes } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import { addressHashOf, encodeAddress } from "../../src/primitives/index.js";
import { mineOffline, ProcessNode, QUARRY_BIN, quarryOk, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The CLI knows the network without `--network`: from the datadir's datadir.json, or from the node
 * it talks to; a network named explicitly that disagrees is a one-line error naming both. Real
 * `quarry` processes and a real regtest node.
 */

const REGTEST = getNetworkParams("regtest");
const PW = { env: { QUARRY_PASSWORD: "cli-network-pw" } };
const BOB = encodeAddress(REGTEST.addressPrefix, addressHashOf(randomBytes(32)));

describe("the CLI takes the network from datadir.json or from the node", () => {
  let tmp: { path: string; cleanup: () => void };
  let datadir: string;
  /** a datadir with only the keystore and the API cookie: no datadir.json */
  let keysOnly: string;
  let node: ProcessNode | undefined;

  beforeAll(async () => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
    tmp = tempDir("quarry-cli-network-");
    datadir = join(tmp.path, "node");
    await quarryOk(["init", "--network", "regtest", "--datadir", datadir]);
    // no --network: the key is made for the datadir's network
    const key = await quarryOk(["keys", "new", "--light", "--name", "m", "--json", "--datadir", datadir], PW);
    const address = (JSON.parse(key.stdout) as { address: string }).address;
    expect(address.startsWith(REGTEST.addressPrefix)).toBe(true);
    await mineOffline(datadir, 3, address);
    node = await ProcessNode.start({ datadir });
    keysOnly = join(tmp.path, "keys-only");
    mkdirSync(keysOnly);
    cpSync(join(datadir, "keystore"), join(keysOnly, "keystore"), { recursive: true });
    copyFileSync(join(datadir, "api.cookie"), join(keysOnly, "api.cookie"));
  });

  afterAll(async () => {
    await node?.stop();
    tmp?.cleanup();
  });

  const send = (extra: string[]) =>
    runQuarry(["tx", "send", "--from", "m", "--to", BOB, "--amount", "1000", ...extra], PW);

  it("tx send --datadir of a regtest node accepts a regtest address without --network (datadir.json)", async () => {
    const r = await send(["--datadir", datadir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("tx send --api with a datadir that has no datadir.json takes the node's network", async () => {
    const r = await send(["--datadir", keysOnly, "--api", node!.apiUrl]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("--network devnet on a regtest datadir is refused, naming both networks", async () => {
    const r = await send(["--datadir", datadir, "--network", "devnet"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--network says 'devnet'");
    expect(r.stderr).toContain("datadir.json says 'regtest'");
  });

  it("--network devnet against a regtest node is refused, naming both networks", async () => {
    const r = await send(["--datadir", keysOnly, "--api", node!.apiUrl, "--network", "devnet"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--network says 'devnet'");
    expect(r.stderr).toContain(`the node at ${node!.apiUrl} runs 'regtest'`);
  });

  it("QUARRY_NETWORK=devnet on a regtest datadir is refused by status and by start", async () => {
    const status = await runQuarry(["status", "--datadir", datadir], { env: { QUARRY_NETWORK: "devnet" } });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain("QUARRY_NETWORK says 'devnet'");
    const start = await runQuarry([
      "start",
      "--datadir",
      datadir,
      "--network",
      "devnet",
      "--p2p-port",
      "0",
      "--api-port",
      "0",
    ]);
    expect(start.code).not.toBe(0);
    expect(start.stderr.trim().split("\n")).toHaveLength(1);
    expect(start.stderr).toContain("network 'devnet' clashes with");
    expect(start.stderr).toContain("which says 'regtest'");
  });
});
