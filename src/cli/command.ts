import { type ParseArgsConfig, parseArgs } from "node:util";
import { QuarryError } from "../util/index.js";

/** A mistake by the person at the keyboard: printed as one line, exits with `exitCode`. */
export class CliError extends QuarryError<{ code: "CLI_USAGE" | "CLI_FAILED" }> {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1, code: "CLI_USAGE" | "CLI_FAILED" = "CLI_USAGE") {
    super({ code }, message);
    this.exitCode = exitCode;
  }
}

/** Where a command writes: injectable so tests can run commands in-process. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

export interface Command {
  /** Words that select the command, e.g. ["keys", "new"]. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking whose failures become one-line CLI errors. */
export function parseFlags<O extends Options>(args: readonly string[], options: O, usage: string) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`${message.split("\n")[0]} (usage: ${usage})`);
  }
}

/** `parseFlags` for a command that takes no positional arguments: one is a usage error. */
export function parseOnlyFlags<O extends Options>(args: readonly string[], options: O, usage: string) {
  const parsed = parseFlags(args, options, usage);
  if (parsed.positionals.length > 0)
    throw new CliError(`unexpected argument '${parsed.positionals[0]}' (usage: ${usage})`);
  return parsed;
}
