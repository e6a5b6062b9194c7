import { join } from "node:path";
import { Chain } from "../../src/chain/index.js";
import { REGTEST } from "../../src/consensus/params.js";
import { ChainStore, type StoreBatch, StoreError, StoreErrorCode } from "../../src/store/index.js";
import { FAR_AHEAD_CLOCK } from "./open-chain.js";
import { tempDir } from "./temp-dir.js";

/**
 * A real LevelDB chain store whose disk "fills up": the write after `writesLeft` more is refused
 * with STORE_WRITE_FAILED (ENOSPC), once. It also counts writes started (`started`) and in flight
 * (`maxInFlight`: the most at once), so a test can see that writes went one at a time, and while
 * `gate` is set every write waits for it before it reaches LevelDB (a slow disk the test controls).
 */
export class FillingStore extends ChainStore {
  writesLeft = Number.POSITIVE_INFINITY;
  started = 0;
  inFlight = 0;
  maxInFlight = 0;
  gate: Promise<void> | undefined;

  override async write(batch: StoreBatch): Promise<void> {
    if (this.writesLeft <= 0) {
      this.writesLeft = Number.POSITIVE_INFINITY;
      throw new StoreError(StoreErrorCode.WRITE_FAILED, "refused a write (ENOSPC): No space left on device");
    }
    this.writesLeft--;
    this.started++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.gate;
      await super.write(batch);
    } finally {
      this.inFlight--;
    }
  }
}

/** A regtest Chain (clock far ahead) on a new FillingStore in a temp dir; `close` closes it and removes the dir. */
export async function openFillingChain(): Promise<{
  store: FillingStore;
  chain: Chain;
  close: () => Promise<void>;
}> {
  const dir = tempDir();
  const store = new FillingStore({ location: join(dir.path, "chain"), network: REGTEST.name, create: true });
  await store.open();
  const chain = new Chain({ params: REGTEST }, { store, clock: FAR_AHEAD_CLOCK });
  await chain.open();
  return {
    store,
    chain,
    close: async () => {
      store.gate = undefined;
      await store.close();
      dir.cleanup();
    },
  };
}
