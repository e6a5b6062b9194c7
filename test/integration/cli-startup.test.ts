import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUARRY_BIN, runQuarry } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The CLI loads the node (libp2p above all: ~0.8 s of a 1.25 s start-up on these machines) only
 * for `quarry start`; a client command such as `quarry status` must not pay for it
 * (docs/OPERATIONS.md, "CLI start-up"). An ESM load hook, preloaded into the real `quarry`
 * process, appends every module it loads to a file.
 */

// Hooks run on their own thread: an asynchronous write may be lost when the CLI exits, so append.
const HOOKS = `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.QUARRY_TEST_LOADED, url + "\\n");
  return next(url, context);
}
`;

/**
 * libp2p's host and its services. Not @libp2p/crypto, @libp2p/peer-id and @libp2p/interface: the
 * keystore reads the node's identity key with them (~0.1 s).
 */
const NETWORK_STACK =
  /node_modules\/(libp2p\/|@libp2p\/(?!crypto\/|peer-id\/|interface\/)|@chainsafe\/libp2p-)/;

let tmp: ReturnType<typeof tempDir>;
let preload = "";

beforeAll(() => {
  if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  tmp = tempDir("quarry-cli-startup-");
  const hooks = join(tmp.path, "hooks.mjs");
  writeFileSync(hooks, HOOKS);
  preload = join(tmp.path, "register.mjs");
  writeFileSync(
    preload,
    `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
});

afterAll(() => tmp?.cleanup());

async function loadedBy(args: string[]): Promise<string[]> {
  const list = join(tmp.path, `loaded-${args.join("-")}.txt`);
  writeFileSync(list, "");
  const res = await runQuarry([...args, "--datadir", join(tmp.path, "none")], {
    env: { NODE_OPTIONS: `--import ${preload}`, QUARRY_TEST_LOADED: list },
  });
  // the command itself fails (no node running, no keys): what matters is what it loaded on the way
  expect(res.stderr).toMatch(/^(quarry: no running node|no keys)/m);
  return readFileSync(list, "utf8").split("\n").filter(Boolean);
}

describe("CLI start-up: client commands do not load the node", () => {
  it.each([["status"], ["peers"], ["keys", "list"]])(
    "quarry %s loads none of libp2p's host",
    async (...args) => {
      const loaded = await loadedBy(args);
      // the hook saw the CLI itself, so an empty libp2p list means something
      expect(loaded.some((url) => url.endsWith("/dist/src/cli/main.js"))).toBe(true);
      expect(loaded.filter((url) => NETWORK_STACK.test(url))).toEqual([]);
    },
  );
});
