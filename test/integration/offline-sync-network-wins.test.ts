import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { blockSubsidy, getNetworkParams } from "../../src/consensus/params.js";
import { toHex } from "../../src/primitives/index.js";
import { testAddress, testKey } from "../helpers/chain-builder.js";
import {
  mineOffline,
  offlineInfo,
  type ProcessNodeInit,
  ProcessNodeScope,
  quarryOk,
  type ReorgView,
  work,
} from "../helpers/process-node.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Offline then sync (b): the network has more work, so the offline node reorganises.
 * Real `quarry` processes over 127.0.0.1 on regtest:
 * A and B synced (A's 3 blocks pay Alice, whose key is in B's keystore) → both stop; B alone
 * accepts Alice's transfer to Bob (`quarry tx send`), stops and mines 5 blocks offline that
 * include it → A, alone, mines live (`--mine`) until its chain holds more work than B's → B
 * restarts bootstrapping to A: B reorganises to A's chain (depth 5), the transfer returns to B's
 * mempool, B's offline coinbase rewards vanish → B mines one block on the winning chain, which
 * includes the transfer again, and A extends with it. Balances at the end, on both nodes.
 */

const REGTEST = getNetworkParams("regtest");
const ALICE = testKey(21);
const ALICE_ADDRESS = testAddress(21);
const BOB = testAddress(22);
const MINER_A = testAddress(23);
const MINER_B_OFFLINE = testAddress(24);
const MINER_B_ONLINE = testAddress(25);
const AMOUNT = 1_234_567n;
const FEE = 1_000n;

const scope = new ProcessNodeScope();
const startNode = (init: ProcessNodeInit) => scope.start(init);

interface TxView {
  status: "pending" | "confirmed";
  blockHash?: string;
  height?: number;
  confirmations?: number;
}

afterEach(() => scope.cleanup());

describe("offline mining then sync: the network has more work", () => {
  it("B reorganises to A's chain; its user tx returns to the mempool and is mined again", async () => {
    const dirA = scope.tempDir("quarry-netA-");
    const dirB = scope.tempDir("quarry-netB-");
    const passwordFile = join(dirB.path, "test-password");
    writeFileSync(passwordFile, "offline-sync-pw\n", { mode: 0o600 });
    await quarryOk([
      "keys",
      "import",
      "--seed-hex",
      toHex(ALICE.seed),
      "--name",
      "alice",
      "--light",
      "--password-file",
      passwordFile,
      "--network",
      "regtest",
      "--datadir",
      dirB.path,
    ]);

    // 1. Shared history: A mines 3 blocks paying Alice; B syncs them.
    await mineOffline(dirA.path, 3, ALICE_ADDRESS);
    let a = await startNode({ datadir: dirA.path });
    let b = await startNode({ datadir: dirB.path, bootstrap: [a.multiaddr] });
    const common = await a.status();
    expect(common.height).toBe(3);
    await waitFor(async () => (await b.status()).tip === common.tip, 20_000, "B synced");
    let funded = 0n;
    for (let h = 1; h <= 3; h++) funded += blockSubsidy(h, REGTEST);
    expect(await b.balance(ALICE_ADDRESS)).toBe(funded);
    expect(await b.stop()).toBe(0);
    expect(await a.stop()).toBe(0);

    // 2. B alone: Alice pays Bob through B's API; the transfer waits in B's (persisted) mempool.
    b = await startNode({ datadir: dirB.path });
    const sent = await quarryOk([
      "tx",
      "send",
      "--from",
      "alice",
      "--to",
      BOB,
      "--amount",
      `${AMOUNT}`,
      "--fee",
      `${FEE}`,
      "--nonce",
      "0",
      "--password-file",
      passwordFile,
      "--network",
      "regtest",
      "--datadir",
      dirB.path,
      "--json",
    ]);
    const txId = (JSON.parse(sent.stdout) as { id: string }).id;
    expect(txId).toMatch(/^[0-9a-f]{64}$/);
    expect((await b.status()).mempool.size).toBe(1);
    expect(await b.stop()).toBe(0);

    // 3. B mines 5 blocks offline; they include the transfer (the mempool is persisted).
    await mineOffline(dirB.path, 5, MINER_B_OFFLINE);
    const offB = await offlineInfo(dirB.path);
    expect(offB.height).toBe(8);

    // 4. Meanwhile the network (A, alone) mines live until its chain holds clearly more work than
    // B's, then restarts without mining. (Not mining while B syncs: on regtest a fresh live miner
    // finds ~100 blocks/s, and the ones a syncing B cannot import yet (orphans) are charged to A's
    // gossip rate, so B could ban A for NET_FLOOD.)
    a = await startNode({ datadir: dirA.path, minerAddress: MINER_A });
    await waitFor(
      async () => work((await a.status()).chainWork) > 4n * work(offB.chainWork),
      30_000,
      "A ahead in work",
    );
    expect(await a.stop()).toBe(0);
    a = await startNode({ datadir: dirA.path });
    const network = await a.status();

    // 5. B comes back: it reorganises to A's chain and the transfer returns to its mempool.
    b = await startNode({ datadir: dirB.path, bootstrap: [a.multiaddr] });
    await waitFor(async () => (await b.status()).tip === network.tip, 30_000, "B on A's tip");
    const reorgs = await b.rpc<ReorgView[]>("getReorgs");
    expect(reorgs).toHaveLength(1);
    const report = reorgs[0]!;
    expect(report.forkPoint).toMatchObject({ height: 3, hash: common.tip });
    expect(report.depth).toBe(5);
    expect(report.disconnected).toHaveLength(5);
    expect(report.oldTip).toMatchObject({ height: 8, hash: offB.tip });
    expect(report.returnedTransactions).toEqual([txId]);
    expect((await a.rpc<{ mainChain: boolean }>("getBlock", { id: report.newTip.hash })).mainChain).toBe(
      true,
    );
    await waitFor(
      async () => (await b.rpc<TxView>("getTransaction", { id: txId })).status === "pending",
      10_000,
      "the transfer back in B's mempool",
    );
    expect((await b.status()).mempool.size).toBe(1);
    // The offline blocks' rewards vanished with them.
    expect(await b.balance(MINER_B_OFFLINE)).toBe(0n);
    expect(await b.balance(BOB)).toBe(0n);
    expect((await b.rpc<{ mainChain: boolean }>("getBlock", { id: offB.tip })).mainChain).toBe(false);

    // 6. The transfer is mined again on the winning chain: B mines one block (offline, on A's
    // chain now) and reconnects; A extends with it.
    expect(await b.stop()).toBe(0);
    await mineOffline(dirB.path, 1, MINER_B_ONLINE);
    const next = await offlineInfo(dirB.path);
    expect(next.height).toBe(network.height + 1);
    b = await startNode({ datadir: dirB.path, bootstrap: [a.multiaddr] });
    await waitFor(async () => (await a.status()).tip === next.tip, 30_000, "A on B's new tip");
    const minedIn = await a.rpc<TxView>("getTransaction", { id: txId });
    expect(minedIn).toMatchObject({ status: "confirmed", blockHash: next.tip, height: next.height });
    expect(await b.rpc<TxView>("getTransaction", { id: txId })).toMatchObject({
      status: "confirmed",
      blockHash: next.tip,
    });
    expect((await a.rpc<ReorgView[]>("getReorgs")).length).toBe(0); // A only ever extended
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    expect(sa.tip).toBe(sb.tip);
    expect(sa.chainWork).toBe(sb.chainWork);
    expect(sb.mempool.size).toBe(0);

    // 7. Balances on both nodes.
    for (const node of [a, b]) {
      expect(await node.balance(BOB)).toBe(AMOUNT);
      expect(await node.balance(ALICE_ADDRESS)).toBe(funded - AMOUNT - FEE);
      expect(await node.balance(MINER_B_OFFLINE)).toBe(0n); // orphaned coinbase rewards vanished
      expect(await node.balance(MINER_B_ONLINE)).toBe(blockSubsidy(next.height, REGTEST) + FEE);
    }
  }, 60_000);
});
