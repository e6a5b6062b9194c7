import type { Account } from "../../../src/consensus/account.js";
import { REGTEST } from "../../../src/consensus/params.js";
import type {
  AccountReader,
  MempoolOptions,
  MempoolStore,
  TransferSignatureVerifier,
} from "../../../src/mempool/index.js";
import { Mempool, MempoolError } from "../../../src/mempool/index.js";
import { toHex } from "../../../src/primitives/index.js";
import { type Clock, type ManualClock, manualClock } from "../../../src/util/clock.js";
import type { TestKey } from "../../helpers/chain-builder.js";

/** Tip accounts held in a map; `reads` counts getAccounts calls. */
export class MapState implements AccountReader {
  readonly accounts = new Map<string, Account>();
  reads = 0;

  set(key: TestKey | Uint8Array, balance: bigint, nonce = 0n): this {
    const address = key instanceof Uint8Array ? key : key.address;
    this.accounts.set(toHex(address), { balance, nonce });
    return this;
  }

  async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    this.reads++;
    const out = new Map<string, Account>();
    for (const a of addresses) {
      const account = this.accounts.get(toHex(a));
      if (account) out.set(toHex(a), account);
    }
    return out;
  }
}

/** A clock the test moves by hand, starting at a fixed 2027 time. */
export function testClock(): ManualClock {
  return manualClock(1_800_000_000_000);
}

/** A started mempool over `state`; no sweep timer (tests call expire()). */
export async function startedPool(
  state: AccountReader,
  opts: Partial<MempoolOptions> = {},
  extra: { clock?: Clock; store?: MempoolStore; signatures?: TransferSignatureVerifier } = {},
): Promise<Mempool> {
  const pool = new Mempool(
    { expirySweepIntervalMs: 0, ...opts },
    {
      params: REGTEST,
      state,
      ...(extra.clock ? { clock: extra.clock } : {}),
      ...(extra.store ? { store: extra.store } : {}),
      ...(extra.signatures ? { signatures: extra.signatures } : {}),
    },
  );
  await pool.start();
  return pool;
}

/** The code of the error a promise rejects with (fails the test if it resolves). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MempoolError) return err.code;
    if (err instanceof Error && "code" in err && typeof err.code === "string") return err.code;
    throw err;
  }
  throw new Error("expected a rejection");
}
