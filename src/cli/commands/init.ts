import { initDatadir } from "../../store/index.js";
import { type Command, parseOnlyFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";

/**
 * `quarry init`: creates a datadir for a network with an empty chain store (genesis only) and its
 * `datadir.json`. Refuses, changing nothing, when the datadir already holds a chain store.
 * `quarry start` does the same on a new datadir; init is for provisioning ahead of the first start.
 */
export const initCommand: Command = {
  path: ["init"],
  summary: "create a datadir and its chain store for a network (refuses an existing one)",
  usage: "init [--network N] [--datadir DIR] [--json]",
  async run(args, io) {
    const { values } = parseOnlyFlags(
      args,
      { network: { type: "string" }, datadir: { type: "string" }, json: { type: "boolean" } },
      this.usage,
    );
    const { network, datadir } = resolveNetworkAndDatadir(values, io.env);
    const marker = await initDatadir(datadir, network);
    const view = { datadir, network, genesisHash: marker.genesisHash, createdAt: marker.createdAt };
    io.out(
      values.json
        ? JSON.stringify(view)
        : `created ${datadir} for ${network} (genesis ${marker.genesisHash})`,
    );
    return 0;
  },
};
