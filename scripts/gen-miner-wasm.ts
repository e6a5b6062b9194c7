/**
 * Writes the miner's WebAssembly SIMD kernel, src/miner/sha256d-simd.wat and .wasm, from
 * scripts/miner-wasm-codegen.ts: `npm run gen:miner-wasm` (it builds first, and the build copies the
 * .wasm into dist/). Both files are committed, so installing and running need no toolchain.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assembleSimdKernel, generateSimdKernelWat } from "./miner-wasm-codegen.js";

// This file runs compiled, from dist/scripts/.
const miner = new URL("../../src/miner/", import.meta.url);
const wat = generateSimdKernelWat();
const wasm = await assembleSimdKernel(wat);
writeFileSync(fileURLToPath(new URL("sha256d-simd.wat", miner)), wat);
writeFileSync(fileURLToPath(new URL("sha256d-simd.wasm", miner)), wasm);
console.log(`wrote src/miner/sha256d-simd.wat (${wat.length} B) and .wasm (${wasm.length} B)`);
