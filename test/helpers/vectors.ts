import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The folder of a published vector suite kept in test/fixtures/vectors (see its README for where
 * each file comes from). Throws when it is missing: a conformance suite must never pass by
 * finding nothing to check.
 */
export function vectorDir(suite: "asert-aserti3-2d" | "web3-secret-storage"): string {
  const dir = fileURLToPath(new URL(`../fixtures/vectors/${suite}`, import.meta.url));
  if (!existsSync(dir)) {
    throw new Error(`test vectors missing: ${dir} (they ship with the repository in test/fixtures/vectors)`);
  }
  return dir;
}
