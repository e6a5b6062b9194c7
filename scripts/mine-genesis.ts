/**
 * Finds the genesis nonce of each network (run once when genesis parameters change, then copy the
 * printed nonces into src/consensus/params.ts): node dist/scripts/mine-genesis.js [network...]
 */
import { genesisBlock } from "../src/consensus/genesis.js";
import { getNetworkParams, type NetworkName } from "../src/consensus/params.js";
import { compactToTarget, hashToBigInt } from "../src/consensus/pow.js";
import { headerHash, toHex } from "../src/primitives/index.js";

const names = (process.argv.length > 2 ? process.argv.slice(2) : ["regtest", "devnet", "testnet"]) as NetworkName[];
for (const name of names) {
  const params = getNetworkParams(name);
  const block = genesisBlock(params);
  const target = compactToTarget(block.header.bits).target;
  let header = { ...block.header, nonce: 0n };
  while (hashToBigInt(headerHash(header)) > target) header = { ...header, nonce: header.nonce + 1n };
  console.log(`${name}: nonce ${header.nonce}n hash ${toHex(headerHash(header))}`);
}
