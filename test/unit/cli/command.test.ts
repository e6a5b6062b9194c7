import { describe, expect, it } from "vitest";
import { CliError, parseFlags, parseOnlyFlags } from "../../../src/cli/command.js";

describe("CLI flag parsing", () => {
  const options = { name: { type: "string" }, light: { type: "boolean" } } as const;
  const usage = "keys new [--name N] [--light]";

  it("parseOnlyFlags returns the flags, as parseFlags does", () => {
    const { values } = parseOnlyFlags(["--name", "alice", "--light"], options, usage);
    expect(values).toEqual({ name: "alice", light: true });
  });

  it("parseOnlyFlags refuses a positional argument with a one-line usage error; parseFlags keeps it", () => {
    expect(() => parseOnlyFlags(["--name", "alice", "extra"], options, usage)).toThrow(
      new CliError(`unexpected argument 'extra' (usage: ${usage})`),
    );
    expect(parseFlags(["extra"], options, usage).positionals).toEqual(["extra"]);
  });

  it("an unknown flag is a usage error naming the usage", () => {
    expect(() => parseOnlyFlags(["--nme", "x"], options, usage)).toThrow(CliError);
    expect(() => parseOnlyFlags(["--nme", "x"], options, usage)).toThrow(/usage: keys new/);
  });
});
