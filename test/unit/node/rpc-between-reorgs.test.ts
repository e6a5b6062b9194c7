import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chain } from "../../../src/chain/index.js";
import { answerBetweenReorgs } from "../../../src/node/rpc-methods.js";
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";
import { hashOf, holdReorgHalfway } from "../../helpers/mid-reorg.js";

let store: FillingStore;
let chain: Chain;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
});

afterEach(() => close());

describe("the API answers reads between reorgs (docs/API.md)", () => {
  it("a read-only method called half-way through a reorg answers the tip it lands on; others run at once", async () => {
    const methods = answerBetweenReorgs(chain, {
      tip: { summary: "", readOnly: true, handler: async () => chain.tip.hashHex },
      act: { summary: "", readOnly: false, handler: async () => chain.tip.hashHex },
    });
    const { main, side, finish } = await holdReorgHalfway(store, chain);
    const read = methods.tip!.handler({});
    // a state-changing method does not wait for the reorg (it is the chain's to serialise)
    expect(await methods.act!.handler({})).toBe(hashOf(main[1]!));
    await finish();
    expect(await read).toBe(hashOf(side[2]!));
  });
});
