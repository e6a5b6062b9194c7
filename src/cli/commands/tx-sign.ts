import type { NetworkParams } from "../../consensus/index.js";
import type { Keystore } from "../../keystore/index.js";
import {
  decodeAddress,
  encodeTransaction,
  publicKeyFromSeed,
  signTransfer,
  type TransferTx,
  TxType,
  toHex,
  transactionToJson,
  U64_MAX,
  wipe,
} from "../../primitives/index.js";
import { CliError, type Command, parseOnlyFlags } from "../command.js";
import { keyPassword, keystoreFlags, openKeystore, withKeyErrors } from "./keys.js";

/**
 * `quarry tx sign`: builds and signs a transfer offline from a keystore key and prints it (JSON
 * with a "hex" field; `--hex` prints only the hex). Amounts, fees and nonces are integers in base
 * units (1 coin = 10^8 units), at most 2^64-1. Broadcasting is the node's job.
 */
export const txSignCommand: Command = {
  path: ["tx", "sign"],
  summary: "sign a transfer offline with a keystore key; prints hex and JSON",
  usage: "tx sign --from NAME --to ADDR --amount A --fee F --nonce N [--password-file F] [--json|--hex]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseOnlyFlags(
        args,
        {
          ...keystoreFlags,
          from: { type: "string" },
          to: { type: "string" },
          amount: { type: "string" },
          fee: { type: "string" },
          nonce: { type: "string" },
          hex: { type: "boolean" },
        },
        this.usage,
      );
      const from = required(values.from, "--from", this.usage);
      const to = required(values.to, "--to", this.usage);
      const amount = parseU64(required(values.amount, "--amount", this.usage), "--amount");
      const fee = parseU64(required(values.fee, "--fee", this.usage), "--fee");
      const nonce = parseU64(required(values.nonce, "--nonce", this.usage), "--nonce");
      // tx-rules rejects amount + fee above 2^64-1; fail here rather than sign a dead transaction.
      if (amount + fee > U64_MAX) throw new CliError("--amount plus --fee exceeds 2^64-1 base units");

      const { keystore, params } = openKeystore(values, io.env);
      const recipient = parseRecipient(params, to);
      await keystore.info(from); // a missing key fails before any prompt
      const password = await keyPassword(values, io.env, `Password for key '${from}': `, false);
      const tx = await signWithKey(keystore, from, password, params, { recipient, amount, fee, nonce });
      const hex = toHex(encodeTransaction(tx));
      if (values.hex) {
        io.out(hex);
        return 0;
      }
      const view = { network: params.name, ...transactionToJson(tx, params.addressPrefix), hex };
      io.out(values.json ? JSON.stringify(view) : JSON.stringify(view, null, 2));
      return 0;
    });
  },
};

/** Decodes `--to` for the network; a typo or another network's address is a one-line error. */
export function parseRecipient(params: NetworkParams, to: string): Uint8Array {
  try {
    return decodeAddress(params.addressPrefix, to);
  } catch (err) {
    throw new CliError(`--to: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Unlocks a keystore key, signs one transfer with it and wipes the password and the seed. */
export async function signWithKey(
  keystore: Keystore,
  name: string,
  password: Uint8Array,
  params: NetworkParams,
  fields: { recipient: Uint8Array; amount: bigint; fee: bigint; nonce: bigint },
): Promise<TransferTx> {
  let seed: Uint8Array | undefined;
  try {
    seed = await keystore.unlock(name, password);
    return signTransfer(
      {
        type: TxType.Transfer,
        networkId: params.networkId,
        senderPublicKey: publicKeyFromSeed(seed),
        ...fields,
      },
      seed,
    );
  } finally {
    wipe(password);
    if (seed) wipe(seed);
  }
}

function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined) throw new CliError(`${flag} is required (usage: ${usage})`);
  return value;
}

/** A u64 in base units, decimal digits only: no sign, no decimal point, no exponent. */
export function parseU64(text: string, flag: string): bigint {
  if (!/^[0-9]{1,20}$/.test(text)) {
    throw new CliError(
      `${flag} must be a whole number of base units (1 coin = 100000000 units), 0..18446744073709551615; got '${text.slice(0, 40)}'`,
    );
  }
  const value = BigInt(text);
  if (value > U64_MAX) throw new CliError(`${flag} exceeds 2^64-1 (18446744073709551615); got '${text}'`);
  return value;
}
