import { genesisBlock, getNetworkParams } from "../../consensus/index.js";
import { blockHash, encodeBlock, headerToJson, toHex, transactionToJson } from "../../primitives/index.js";
import { type Command, parseFlags } from "../command.js";
import { parseNetworkName, resolveNetworkAndDatadir } from "../datadir.js";
import { openLocalChain } from "../local-chain.js";

const common = {
  network: { type: "string" },
  datadir: { type: "string" },
  json: { type: "boolean" },
} as const;

export const chainGenesisCommand: Command = {
  path: ["chain", "genesis"],
  summary: "print the network's genesis block",
  usage: "chain genesis [--network N] [--json]",
  async run(args, io) {
    const { values } = parseFlags(args, common, this.usage);
    const params = getNetworkParams(parseNetworkName(values.network, io.env));
    const block = genesisBlock(params);
    const view = {
      network: params.name,
      hash: toHex(blockHash(block)),
      header: headerToJson(block.header),
      txs: block.txs.map((tx) => transactionToJson(tx, params.addressPrefix)),
      hex: toHex(encodeBlock(block)),
    };
    io.out(values.json ? JSON.stringify(view) : JSON.stringify(view, null, 2));
    return 0;
  },
};

export const chainInfoCommand: Command = {
  path: ["chain", "info"],
  summary: "print the local chain's tip (node must not be running)",
  usage: "chain info [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values } = parseFlags(args, common, this.usage);
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const local = await openLocalChain(datadir, getNetworkParams(network), { create: false, note: io.err });
    try {
      const tip = local.chain.tip;
      const info = {
        network,
        height: tip.height,
        tip: tip.hashHex,
        chainWork: `0x${tip.chainWork.toString(16)}`,
        time: tip.header.time,
        bits: `0x${tip.header.bits.toString(16).padStart(8, "0")}`,
      };
      io.out(
        values.json
          ? JSON.stringify(info)
          : Object.entries(info)
              .map(([k, v]) => `${k.padEnd(10)} ${v}`)
              .join("\n"),
      );
      return 0;
    } finally {
      await local.close();
    }
  },
};
