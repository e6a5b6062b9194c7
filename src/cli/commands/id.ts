import { loadOrCreateNodeIdentity } from "../../keystore/index.js";
import { toHex } from "../../primitives/index.js";
import { type Command, parseFlags } from "../command.js";
import { resolveNetworkAndDatadir } from "../datadir.js";
import { withKeyErrors } from "./keys.js";

/** `quarry id`: the node's libp2p peer id, creating `<datadir>/node-key` on first use. */
export const idCommand: Command = {
  path: ["id"],
  summary: "print the node's peer id (creates <datadir>/node-key once)",
  usage: "id [--network N] [--datadir DIR] [--json]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseFlags(
        args,
        { network: { type: "string" }, datadir: { type: "string" }, json: { type: "boolean" } },
        this.usage,
      );
      const identity = await loadOrCreateNodeIdentity(resolveNetworkAndDatadir(values, io.env).datadir);
      if (identity.created) io.err(`created node identity ${identity.path}`);
      const peerId = identity.peerId.toString();
      if (values.json) {
        io.out(
          JSON.stringify({
            peerId,
            publicKey: toHex(identity.privateKey.publicKey.raw),
            path: identity.path,
            created: identity.created,
          }),
        );
      } else {
        io.out(peerId);
      }
      return 0;
    });
  },
};
