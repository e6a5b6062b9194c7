import type { Command } from "../command.js";
import { addressHistoryCommand } from "./address.js";
import { blockPackageCommands } from "./blocks-package.js";
import { chainGenesisCommand, chainInfoCommand } from "./chain.js";
import { chainClientCommands } from "./chain-client.js";
import { exportCommand } from "./export.js";
import { idCommand } from "./id.js";
import { initCommand } from "./init.js";
import { keysCommands } from "./keys.js";
import { maintenanceCommands } from "./maintenance.js";
import { mineCommand } from "./mine.js";
import { minerCommand } from "./miner.js";
import { nodeClientCommands } from "./node-client.js";
import { peerCommands } from "./peers.js";
import { startCommand } from "./start.js";
import { txSignCommand } from "./tx-sign.js";
import { verifyCommand } from "./verify.js";

/** Every CLI command; main.ts dispatches on the longest matching path. */
export const commands: readonly Command[] = [
  startCommand,
  initCommand,
  ...nodeClientCommands,
  addressHistoryCommand,
  ...peerCommands,
  mineCommand,
  minerCommand,
  ...chainClientCommands,
  ...blockPackageCommands,
  chainGenesisCommand,
  chainInfoCommand,
  verifyCommand,
  ...maintenanceCommands,
  exportCommand,
  ...keysCommands,
  idCommand,
  txSignCommand,
];
