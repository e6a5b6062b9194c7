import type { Command } from "../command.js";
import { chainGenesisCommand, chainInfoCommand, verifyCommand } from "./chain.js";

/** Every CLI command; main.ts dispatches on the longest matching path. */
export const commands: readonly Command[] = [chainGenesisCommand, chainInfoCommand, verifyCommand];
