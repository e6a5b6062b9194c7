import { describe, expect, it } from "vitest";
import { MIN_NODE_VERSION, nodeVersionProblem } from "../../../src/cli/node-version.js";

describe("nodeVersionProblem (bin.ts refuses a Node.js too old for libp2p)", () => {
  it("refuses versions below the minimum with one line naming both and the npm way to run", () => {
    for (const old of ["20.19.2", "18.0.0", "22.11.9"]) {
      const problem = nodeVersionProblem(old);
      expect(problem).toContain(`v${old}`);
      expect(problem).toContain(MIN_NODE_VERSION);
      expect(problem).toContain("npm start");
      expect(problem).not.toContain("\n");
    }
  });

  it("accepts the minimum and newer, including the running Node", () => {
    for (const ok of ["22.12.0", "22.20.1", "24.21.0", "25.0.0", process.versions.node])
      expect(nodeVersionProblem(ok)).toBeUndefined();
  });
});
