import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Chain } from "../../chain/index.js";
import { getNetworkParams } from "../../consensus/index.js";
import { createChainServices, Lifecycle } from "../../node/index.js";
import {
  copyChainStore,
  decodePackage,
  encodePackage,
  importPackage,
  MAX_PACKAGE_BLOCKS,
  MAX_PACKAGE_BYTES,
  type OpenedPackage,
  openPackage,
  openScratchChain,
  PackageError,
  signPackage,
} from "../../package/index.js";
import { addressHashOf, decodeAddress, fromHex, toHex, wipe } from "../../primitives/index.js";
import { silentLogger } from "../../util/index.js";
import { CliError, type Command, parseFlags, parseOnlyFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";
import { openLocalChain, prepareLocalDatadir, startOffline } from "../local-chain.js";
import { keyPassword, keystoreFlags, openKeystore, withKeyErrors } from "./keys.js";

/**
 * `quarry export-blocks` / `quarry import-blocks`: move main-chain blocks between machines with no
 * network, as a package signed with a keystore key (format: src/package/block-package.ts,
 * docs/OFFLINE.md). Both work on a stopped node's datadir (the store is locked while a node runs).
 */

function parseHeight(value: string | undefined, flag: string): number {
  if (value === undefined || !/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff)
    throw new CliError(`${flag} must be a block height (a whole number)`);
  return Number(value);
}

function packageErrorToCli(err: unknown): never {
  if (err instanceof PackageError) throw new CliError(`${err.message} [${err.code}]`, 1, "CLI_FAILED");
  throw err;
}

export const exportBlocksCommand: Command = {
  path: ["export-blocks"],
  summary: "write main-chain blocks FROM..TO as a package signed with a keystore key (offline)",
  usage:
    "export-blocks --from H --to H --key NAME [--out FILE] [--password-file F] [--network N] [--datadir DIR] > pkg",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseOnlyFlags(
        args,
        {
          ...keystoreFlags,
          from: { type: "string" },
          to: { type: "string" },
          key: { type: "string" },
          out: { type: "string" },
        },
        this.usage,
      );
      if (!values.key)
        throw new CliError(`--key NAME is required: the package is signed (usage: ${this.usage})`);
      const from = parseHeight(values.from, "--from");
      const to = parseHeight(values.to, "--to");
      if (from < 1) throw new CliError("--from must be at least 1 (every node has the genesis block)");
      if (to < from) throw new CliError("--to must not be below --from");
      if (to - from + 1 > MAX_PACKAGE_BLOCKS)
        throw new CliError(`at most ${MAX_PACKAGE_BLOCKS} blocks per package: split the range`);
      if (values.out === undefined && process.stdout.isTTY)
        throw new CliError("the package is binary: redirect stdout to a file ('> pkg') or pass --out FILE");
      const { keystore, params, datadir } = openKeystore(values, io.env);
      await keystore.info(values.key); // a missing key fails before the password prompt

      const local = await openLocalChain(datadir, params, { create: false, note: io.err });
      const blocks: Uint8Array[] = [];
      const hashes: Uint8Array[] = [];
      try {
        if (to > local.chain.height)
          throw new CliError(`--to ${to} is above the local tip (height ${local.chain.height})`);
        for (let h = from; h <= to; h++) {
          const entry = local.chain.entryAtHeight(h);
          const block = entry ? await local.chain.getBlockBytes(entry.hashHex) : undefined;
          if (!entry || !block)
            throw new CliError(`block at height ${h} is missing from the store`, 3, "CLI_FAILED");
          blocks.push(block);
          hashes.push(entry.hash);
        }
      } finally {
        await local.close();
      }

      const password = await keyPassword(values, io.env, `Password for key '${values.key}': `, false);
      let seed: Uint8Array | undefined;
      let bytes: Uint8Array;
      try {
        seed = await keystore.unlock(values.key, password);
        bytes = encodePackage(signPackage(seed, params.networkId, from, blocks, hashes));
      } finally {
        wipe(password);
        if (seed) wipe(seed);
      }
      if (values.out !== undefined) await writeFile(resolve(values.out), bytes, { mode: 0o644 });
      else
        await new Promise<void>((ok, fail) => process.stdout.write(bytes, (err) => (err ? fail(err) : ok())));
      io.err(
        `exported ${blocks.length} blocks (heights ${from}..${to}, ${bytes.length} bytes), signed by '${values.key}'`,
      );
      return 0;
    });
  },
};

/** `--signer`: an address or a 64-hex public key; returns a matcher on the raw signer key. */
function signerMatcher(value: string, prefix: string): (signer: Uint8Array) => boolean {
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    const key = toHex(fromHex(value.toLowerCase()));
    return (signer) => toHex(signer) === key;
  }
  let hash: Uint8Array;
  try {
    hash = decodeAddress(prefix, value);
  } catch (err) {
    throw new CliError(`--signer: ${(err as Error).message} (give an address or a 64-hex public key)`);
  }
  const want = toHex(hash);
  return (signer) => toHex(addressHashOf(signer)) === want;
}

export const importBlocksCommand: Command = {
  path: ["import-blocks"],
  summary: "verify a signed block package and import it, all or nothing (offline)",
  usage: "import-blocks FILE [--signer ADDR|PUBKEY] [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values, positionals } = parseFlags(
      args,
      {
        network: { type: "string" },
        datadir: { type: "string" },
        signer: { type: "string" },
        json: { type: "boolean" },
      },
      this.usage,
    );
    if (positionals.length !== 1) throw new CliError(`give one package file (usage: ${this.usage})`);
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const params = getNetworkParams(network);
    const file = resolve(positionals[0]!);
    const matches =
      values.signer === undefined ? undefined : signerMatcher(values.signer, params.addressPrefix);

    // 1. The package alone: size, container, network, signature, block ids, sequence.
    const size = await stat(file).then(
      (s) => s.size,
      () => {
        throw new CliError(`cannot read ${file}`);
      },
    );
    if (size > MAX_PACKAGE_BYTES)
      throw new CliError(`${file} is over ${MAX_PACKAGE_BYTES} bytes: not a package`);
    let opened: OpenedPackage;
    try {
      const pkg = decodePackage(new Uint8Array(await readFile(file)));
      opened = openPackage(pkg, params.networkId);
      if (matches && !matches(opened.signer))
        throw new CliError(
          `package is signed by ${toHex(opened.signer)}, not by --signer ${values.signer}`,
          1,
          "CLI_FAILED",
        );
    } catch (err) {
      packageErrorToCli(err);
    }

    // 2. A scratch copy of the store, taken before anything opens the store.
    await prepareLocalDatadir(datadir, params, { create: true, note: io.err });
    const scratchDir = await copyChainStore(datadir);
    // The same chain and mempool a node runs: a reorg's losing branch returns its transfers to the
    // (persisted) mempool, as in a node.
    const local = createChainServices({ datadir, params }, { log: silentLogger });
    const { chain, mempool } = local;
    const lifecycle = new Lifecycle(local.steps, silentLogger);
    try {
      await startOffline(lifecycle);
      const result = await importPackage(opened, {
        chain,
        openScratch: () => openScratchChain(scratchDir, params, (store) => new Chain({ params }, { store })),
      }).catch(packageErrorToCli);
      await mempool.settled();
      const summary = {
        imported: result.imported,
        skipped: result.skipped,
        signer: toHex(opened.signer),
        fromHeight: opened.fromHeight,
        tipBefore: result.tipBefore,
        tip: result.tipAfter,
        reorgs: result.reorgs.map((r) => ({
          depth: r.depth,
          forkHeight: r.forkPoint.height,
          oldTip: r.oldTip,
          newTip: r.newTip,
          returnedTransactions: r.returnedTransactions.length,
        })),
      };
      if (values.json) io.out(JSON.stringify(summary));
      else {
        io.out(
          `imported ${summary.imported} blocks, skipped ${summary.skipped} already stored; tip ${summary.tip.height} ${summary.tip.hash}`,
        );
        for (const r of summary.reorgs)
          io.out(
            `reorganised: ${r.depth} blocks disconnected above height ${r.forkHeight}, ${r.returnedTransactions} transactions back to the mempool`,
          );
      }
      return 0;
    } finally {
      await lifecycle.stop();
      // openScratchChain removes it on close; this covers a failure before it was opened.
      await rm(scratchDir, { recursive: true, force: true });
    }
  },
};

/** Both commands, for the command table. */
export const blockPackageCommands: readonly Command[] = [exportBlocksCommand, importBlocksCommand];
