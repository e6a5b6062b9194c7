import { join } from "node:path";
import type { NetworkParams } from "../consensus/index.js";
import { Keystore } from "../keystore/index.js";
import { decodeAddress } from "../primitives/index.js";
import { QuarryError } from "../util/index.js";

export class MinerRecipientError extends QuarryError<{ code: "MINER_KEY_HAS_NO_ADDRESS" }> {}

/** Where the coinbase pays: an address, or the address of a key in the datadir's keystore. */
export type MinerRecipientSource = { address: string } | { key: string };

/**
 * The 20-byte account id a miner pays its coinbase to.
 *
 * @throws AddressError for a malformed address; KeystoreError for a missing or unreadable key;
 *   MinerRecipientError MINER_KEY_HAS_NO_ADDRESS for a key without an address on this network
 */
export async function resolveMinerRecipient(
  opts: { datadir: string; params: NetworkParams },
  source: MinerRecipientSource,
): Promise<Uint8Array> {
  const prefix = opts.params.addressPrefix;
  if ("address" in source) return decodeAddress(prefix, source.address);
  const keystore = new Keystore({
    dir: join(opts.datadir, "keystore"),
    network: opts.params.name,
    addressPrefix: prefix,
  });
  const info = await keystore.info(source.key);
  if (!info.address)
    throw new MinerRecipientError(
      { code: "MINER_KEY_HAS_NO_ADDRESS" },
      `key '${source.key}' has no address for ${opts.params.name}`,
    );
  return decodeAddress(prefix, info.address);
}
