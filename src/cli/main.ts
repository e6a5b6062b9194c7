import { CliError, type CliIo, type Command, processIo } from "./command.js";
import { commands } from "./commands/index.js";

function usageText(): string {
  const lines = ["usage: quarry <command> [options]", "", "commands:"];
  for (const command of commands) lines.push(`  ${command.usage.padEnd(58)} ${command.summary}`);
  return lines.join("\n");
}

/** Finds the command whose path is the longest prefix of argv. */
function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  let best: Command | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best ? { command: best, rest: argv.slice(best.path.length) } : undefined;
}

export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    io.out(usageText());
    return argv.length === 0 ? 1 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    io.err(`quarry: unknown command '${argv.join(" ")}'; run 'quarry help' for the list of commands`);
    return 1;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`quarry: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof Error && "code" in err && typeof err.code === "string" && err.code.length > 0) {
      io.err(`quarry: ${err.message} [${err.code}]`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.err(`quarry: unexpected error: ${message}`);
    return 70;
  }
}
