import type { Command } from "../command.js";
import { blockPackageCommands } from "./blocks-package.js";
import { chainGenesisCommand, chainInfoCommand, verifyCommand } from "./chain.js";
import { idCommand } from "./id.js";
import { initCommand } from "./init.js";
import { keysCommands } from "./keys.js";
import { maintenanceCommands } from "./maintenance.js";
import { mineCommand } from "./mine.js";
import { nodeClientCommands } from "./node-client.js";
import { peerCommands } from "./peers.js";
import { startCommand } from "./start.js";
import { txSignCommand } from "./tx-sign.js";

/** Every CLI command; main.ts dispatches on the longest matching path. */
export const commands: readonly Command[] = [
  startCommand,
  initCommand,
  ...nodeClientCommands,
  ...peerCommands,
  mineCommand,
  ...blockPackageCommands,
  chainGenesisCommand,
  chainInfoCommand,
  verifyCommand,
  ...maintenanceCommands,
  ...keysCommands,
  idCommand,
  txSignCommand,
];
