import { ChainStore, type StoreBatch, StoreError, StoreErrorCode } from "../../src/store/index.js";

/**
 * A real LevelDB chain store whose disk "fills up": the write after `writesLeft` more is refused
 * with STORE_WRITE_FAILED (ENOSPC), once. It also counts writes in flight (`maxInFlight`: the most
 * at once), so a test can see that writes went one at a time, and while `gate` is set every write
 * waits for it before it reaches LevelDB (a slow disk the test controls).
 */
export class FillingStore extends ChainStore {
  writesLeft = Number.POSITIVE_INFINITY;
  inFlight = 0;
  maxInFlight = 0;
  gate: Promise<void> | undefined;

  override async write(batch: StoreBatch): Promise<void> {
    if (this.writesLeft <= 0) {
      this.writesLeft = Number.POSITIVE_INFINITY;
      throw new StoreError(StoreErrorCode.WRITE_FAILED, "refused a write (ENOSPC): No space left on device");
    }
    this.writesLeft--;
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
