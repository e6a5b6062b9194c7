import type { Account } from "../consensus/index.js";
import { type Deferred, deferred } from "./deferred.js";

/** Reads accounts at the chain tip (the chain satisfies it). */
export interface AccountReader {
  getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>>;
}

/**
 * Coalesces the account reads requested in one synchronous run (e.g. a burst of gossip) into one
 * `getAccounts` call: LevelDB answers a getMany of 100 keys ~8x faster than 100 gets.
 */
export class AccountLoader {
  private pending = new Map<string, Uint8Array>();
  private batch: Deferred<Map<string, Account>> | undefined;

  constructor(private readonly reader: AccountReader) {}

  /** The tip account of `hex` (absent from the result map = empty account). */
  load(hex: string, address: Uint8Array): Promise<Map<string, Account>> {
    this.pending.set(hex, address);
    if (!this.batch) {
      this.batch = deferred<Map<string, Account>>();
      queueMicrotask(() => this.flush());
    }
    return this.batch.promise;
  }

  private flush(): void {
    const batch = this.batch!;
    const addresses = [...this.pending.values()];
    this.pending = new Map();
    this.batch = undefined;
    this.reader.getAccounts(addresses).then(batch.resolve, batch.reject);
  }
}
