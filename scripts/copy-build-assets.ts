/**
 * Run after `tsc` by `npm run build`: copies the non-TypeScript files the compiled code loads at run
 * time (the miner's WebAssembly kernel) from src/ to their place in dist/src/.
 */
import { copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ASSETS = ["miner/sha256d-simd.wasm"];

// This file runs compiled, from dist/scripts/.
for (const asset of ASSETS) {
  copyFileSync(
    fileURLToPath(new URL(`../../src/${asset}`, import.meta.url)),
    fileURLToPath(new URL(`../src/${asset}`, import.meta.url)),
  );
}
