import { describe, expect, it } from "vitest";
import {
  KeystoreErrorCode,
  type PasswordDeps,
  type PasswordRequest,
  readPassword,
} from "../../../src/keystore/index.js";

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

function deps(files: Record<string, string>, answers?: string[]): PasswordDeps {
  return {
    readFile: async (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
      return new Uint8Array(Buffer.from(content, "utf8"));
    },
    promptHidden: answers ? async () => answers.shift() ?? "" : null,
  };
}

const base: PasswordRequest = {
  env: {},
  envVar: "QUARRY_PASSWORD",
  prompt: "Password: ",
  confirm: false,
  allowEmpty: false,
};

describe("readPassword", () => {
  it("prefers --password-file over QUARRY_PASSWORD and drops one trailing newline", async () => {
    const pw = await readPassword(
      { ...base, passwordFile: "/run/secrets/pw", env: { QUARRY_PASSWORD: "from-env" } },
      deps({ "/run/secrets/pw": "from-file\n" }),
    );
    expect(text(pw)).toBe("from-file");
  });

  it.each([
    ["a\r\n", "a"],
    ["a\n\n", "a\n"],
    [" a ", " a "],
  ])("password file %j reads as %j", async (content, expected) => {
    const pw = await readPassword({ ...base, passwordFile: "f" }, deps({ f: content }));
    expect(text(pw)).toBe(expected);
  });

  it("falls back to the environment variable", async () => {
    const pw = await readPassword({ ...base, env: { QUARRY_PASSWORD: "hunter2" } }, deps({}));
    expect(text(pw)).toBe("hunter2");
  });

  it("prompts when there is no file and no variable, and confirms a new password", async () => {
    const pw = await readPassword({ ...base, confirm: true }, deps({}, ["s3cret", "s3cret"]));
    expect(text(pw)).toBe("s3cret");
    await expect(readPassword({ ...base, confirm: true }, deps({}, ["a1", "b2"]))).rejects.toMatchObject({
      code: KeystoreErrorCode.PASSWORD_MISMATCH,
    });
  });

  it("NO_PASSWORD without a terminal, naming the ways to give one", async () => {
    await expect(readPassword(base, deps({}))).rejects.toMatchObject({
      code: KeystoreErrorCode.NO_PASSWORD,
      message: expect.stringContaining("QUARRY_PASSWORD"),
    });
  });

  it("EMPTY_PASSWORD unless allowEmpty, from every source", async () => {
    for (const req of [
      { ...base, env: { QUARRY_PASSWORD: "" } },
      { ...base, passwordFile: "f" },
    ]) {
      await expect(readPassword(req, deps({ f: "\n" }))).rejects.toMatchObject({
        code: KeystoreErrorCode.EMPTY_PASSWORD,
      });
      expect((await readPassword({ ...req, allowEmpty: true }, deps({ f: "\n" }))).length).toBe(0);
    }
  });

  it("PASSWORD_FILE_UNREADABLE names the file and not its content", async () => {
    await expect(readPassword({ ...base, passwordFile: "/missing" }, deps({}))).rejects.toMatchObject({
      code: KeystoreErrorCode.PASSWORD_FILE_UNREADABLE,
      message: "cannot read password file /missing (ENOENT)",
    });
  });
});
