import { afterEach, describe, expect, it } from "vitest";
import { blockSubsidy, getNetworkParams } from "../../src/consensus/params.js";
import { testAddress } from "../helpers/chain-builder.js";
import {
  mineOffline,
  offlineInfo,
  type ProcessNodeInit,
  ProcessNodeScope,
  type ReorgView,
  work,
} from "../helpers/process-node.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Offline then sync (a): the offline miner mined more work, so the network
 * reorganises to it. Real `quarry` processes over 127.0.0.1 on regtest:
 * A and B synced → B stops (SIGTERM) and mines 40 blocks offline while A (stopped, offline too)
 * mines 5 on its own branch → A back online, B restarts bootstrapping to A → A reorganises to
 * B's branch: A's `getReorgs` names depth 5 and B's tip; both end on B's tip; A's 5 coinbase
 * rewards are gone and B's miner holds 40 rewards.
 */

const REGTEST = getNetworkParams("regtest");
const FUNDER = testAddress(11);
const MINER_A = testAddress(12);
const MINER_B = testAddress(13);

const scope = new ProcessNodeScope();
const startNode = (init: ProcessNodeInit) => scope.start(init);

afterEach(() => scope.cleanup());

describe("offline mining then sync: the offline miner has more work", () => {
  it("A reorganises to B's offline branch and reports the reorg", async () => {
    const dirA = scope.tempDir("quarry-offA-");
    const dirB = scope.tempDir("quarry-offB-");

    // 1. A shared history: A mines 3 blocks, B syncs them from A.
    await mineOffline(dirA.path, 3, FUNDER);
    let a = await startNode({ datadir: dirA.path });
    let b = await startNode({ datadir: dirB.path, bootstrap: [a.multiaddr] });
    const common = await a.status();
    expect(common.height).toBe(3);
    await waitFor(async () => (await b.status()).tip === common.tip, 20_000, "B synced to A");

    // 2. Both go offline (SIGTERM: clean stop). A mines 5 blocks on its own, B mines 40.
    expect(await b.stop()).toBe(0);
    expect(await a.stop()).toBe(0);
    await Promise.all([mineOffline(dirA.path, 5, MINER_A), mineOffline(dirB.path, 40, MINER_B)]);
    const offA = await offlineInfo(dirA.path);
    const offB = await offlineInfo(dirB.path);
    expect(offA.height).toBe(8);
    expect(offB.height).toBe(43);
    // "More work" is cumulative work, not height (ASERT moves the difficulty per block).
    expect(work(offB.chainWork)).toBeGreaterThan(work(offA.chainWork));

    // 3. A comes back first (it is "the network"); B restarts bootstrapping to it.
    a = await startNode({ datadir: dirA.path });
    expect((await a.status()).tip).toBe(offA.tip);
    b = await startNode({ datadir: dirB.path, bootstrap: [a.multiaddr] });

    // 4. A reorganises to B's chain.
    await waitFor(async () => (await a.status()).tip === offB.tip, 30_000, "A on B's tip");
    const reorgs = await a.rpc<ReorgView[]>("getReorgs");
    expect(reorgs).toHaveLength(1);
    const report = reorgs[0]!;
    expect(report.depth).toBe(5);
    expect(report.forkPoint).toMatchObject({ height: 3, hash: common.tip });
    expect(report.oldTip).toMatchObject({ height: 8, hash: offA.tip });
    expect(report.disconnected).toHaveLength(5);
    // The chain switches branches as soon as B's branch holds more work, which happens while the
    // sync is still importing it block by block: the report's new tip is the first block of B's
    // branch with more work than A's (height > 8), and the rest of B's blocks extend it.
    expect(report.newTip.height).toBeGreaterThan(8);
    expect(report.newTip.height).toBeLessThanOrEqual(43);
    expect(report.connected).toHaveLength(report.newTip.height - 3);
    const atNewTip = await b.rpc<{ hash: string; mainChain: boolean }>("getBlock", {
      id: `${report.newTip.height}`,
    });
    expect(atNewTip.hash).toBe(report.newTip.hash);
    expect((await a.rpc<{ mainChain: boolean }>("getBlock", { id: report.newTip.hash })).mainChain).toBe(
      true,
    );
    expect((await a.rpc<{ mainChain: boolean }>("getBlock", { id: offA.tip })).mainChain).toBe(false);
    // B never left its own chain.
    expect(await b.rpc<ReorgView[]>("getReorgs")).toEqual([]);

    // 5. Both on the same tip with the same work; balances follow the winning chain.
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    expect(sa.tip).toBe(offB.tip);
    expect(sb.tip).toBe(offB.tip);
    expect(sa.chainWork).toBe(sb.chainWork);
    let rewardsB = 0n;
    for (let h = 4; h <= 43; h++) rewardsB += blockSubsidy(h, REGTEST);
    let rewardsFunder = 0n;
    for (let h = 1; h <= 3; h++) rewardsFunder += blockSubsidy(h, REGTEST);
    for (const node of [a, b]) {
      expect(await node.balance(MINER_B)).toBe(rewardsB);
      expect(await node.balance(MINER_A)).toBe(0n); // A's orphaned coinbases vanished
      expect(await node.balance(FUNDER)).toBe(rewardsFunder);
    }
  }, 60_000);
});
