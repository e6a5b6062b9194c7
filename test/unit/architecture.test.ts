import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/ARCHITECTURE.md's two import rules, checked on every file of src/:
 * - a folder is imported by other folders only through its `index.ts`;
 * - dependencies point one way: a folder imports only folders of a lower layer.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Layer of each folder of src/ (and of the root files in src/ itself, ""). Lower layers never import higher ones. */
const LAYER: Record<string, number> = {
  util: 0,
  metrics: 0,
  primitives: 1,
  api: 1,
  consensus: 2,
  keystore: 2,
  store: 3,
  chain: 4,
  mempool: 5,
  miner: 5,
  network: 5,
  sync: 5,
  package: 5,
  // backup, restore, reindex: copies every store of a datadir (chain, mempool, peers)
  maintenance: 5.5,
  node: 6,
  "": 6,
  cli: 7,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The top-level folder of src/ a path lies in ("" for files directly in src/). */
function folderOf(path: string): string {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? (parts[0] as string) : "";
}

/** Relative module specifiers of every static and dynamic import/export in a file. */
function importedSpecifiers(text: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of text.matchAll(pattern)) specifiers.push(match[1] as string);
  return specifiers;
}

interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

function violationsOf(file: string): Violation[] {
  const from = folderOf(file);
  const found: Violation[] = [];
  for (const specifier of importedSpecifiers(readFileSync(file, "utf8"))) {
    const target = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
    const to = folderOf(target);
    // src/node.ts and src/node/ are one composition root.
    if (to === from || (from === "" && to === "node")) continue;
    const where = relative(SRC, file);
    const layerFrom = LAYER[from];
    const layerTo = LAYER[to];
    if (layerFrom === undefined || layerTo === undefined) {
      found.push({
        file: where,
        specifier,
        rule: `folder ${from || to} has no layer in this test's LAYER table`,
      });
      continue;
    }
    if (to !== "" && relative(join(SRC, to), target) !== "index.ts") {
      found.push({ file: where, specifier, rule: `import src/${to} through its index.ts` });
    }
    // src/node/ and the root files (node.ts, options.ts) are one layer: the composition root.
    const sameRoot = layerTo === LAYER[""] && layerFrom === LAYER[""];
    if (layerTo >= layerFrom && !sameRoot) {
      found.push({
        file: where,
        specifier,
        rule: `${from || "src/"} (layer ${layerFrom}) may not import ${to} (layer ${layerTo})`,
      });
    }
  }
  return found;
}

describe("architecture: import rules of docs/ARCHITECTURE.md", () => {
  it("finds imports in every form the code uses", () => {
    const text = [
      'import { a } from "../chain/chain.js";',
      'import type { B } from "../store/index.js";',
      'export { c } from "./c.js";',
      'const d = await import("../miner/worker.js");',
      'import "../util/side-effect.js";',
      "import {\n  e,\n  f,\n} from '../sync/index.js';",
    ].join("\n");
    expect(importedSpecifiers(text)).toEqual([
      "../chain/chain.js",
      "../store/index.js",
      "./c.js",
      "../miner/worker.js",
      "../util/side-effect.js",
      "../sync/index.js",
    ]);
  });

  it("every folder of src/ has a layer", () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    expect(folders.filter((folder) => !(folder in LAYER))).toEqual([]);
  });

  it("other folders import a folder only through its index.ts, and only from a lower layer", () => {
    const violations = sourceFiles(SRC).flatMap(violationsOf);
    expect(violations.map((v) => `${v.file}: "${v.specifier}": ${v.rule}`)).toEqual([]);
  });
});
