import { describe, expect, it } from "vitest";
import { parseNetworkName } from "../../../src/cli/datadir.js";
import {
  DEFAULT_NETWORK,
  getNetworkParams,
  isNetworkName,
  NETWORK_NAMES,
} from "../../../src/consensus/params.js";
import { type NetworkHostInit, resolveNetworkHostOptions } from "../../../src/network/index.js";
import { ConfigError, DEFAULT_PORTS, resolveNodeOptions } from "../../../src/options.js";

/** NETWORK_NAMES is the one list: params, options, the CLI and the host all follow it. */
describe("NETWORK_NAMES", () => {
  it.each(NETWORK_NAMES)("%s has params under its own name and default ports", (name) => {
    expect(getNetworkParams(name).name).toBe(name);
    expect(DEFAULT_PORTS[name]).toBeDefined();
    expect(parseNetworkName(name, {})).toBe(name);
    expect(resolveNetworkHostOptions({ network: name }).network).toBe(name);
  });

  it("the default network is one of them", () => {
    expect(isNetworkName(DEFAULT_NETWORK)).toBe(true);
    expect(parseNetworkName(undefined, {})).toBe(DEFAULT_NETWORK);
  });

  it("a name outside the list is refused everywhere: CONFIG_INVALID, CLI_USAGE, RangeError", () => {
    expect(isNetworkName("mainnet")).toBe(false);
    expect(() => resolveNodeOptions({ network: "mainnet", datadir: "/nonexistent" }, {})).toThrow(
      ConfigError,
    );
    expect(() => parseNetworkName("mainnet", {})).toThrow(expect.objectContaining({ code: "CLI_USAGE" }));
    // as from an untyped config file
    const hostInit = JSON.parse('{"network": "mainnet"}') as NetworkHostInit;
    expect(() => resolveNetworkHostOptions(hostInit)).toThrow(RangeError);
  });
});
