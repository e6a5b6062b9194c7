import type { Command } from "../command.js";

/** Every CLI command; main.ts dispatches on the longest matching path. */
export const commands: readonly Command[] = [];
