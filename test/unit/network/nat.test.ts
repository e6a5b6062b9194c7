import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import { natAnnounceFilter, natListenAddresses, rendezvousKey } from "../../../src/network/nat.js";
import { resolveNatOptions } from "../../../src/network/options.js";

const RELAY =
  "/ip4/198.51.100.12/tcp/7330/p2p/12D3KooWC3GfC91NaYAwZt6yDKF92fYx5E98aYZxqkQvRE5dteo9/p2p-circuit";
const RELAY_LOOPBACK =
  "/ip4/127.0.0.1/tcp/7330/p2p/12D3KooWC3GfC91NaYAwZt6yDKF92fYx5E98aYZxqkQvRE5dteo9/p2p-circuit";

describe("natAnnounceFilter: what a node advertises", () => {
  const cases: { name: string; unreachable: boolean; given: string[]; kept: string[] }[] = [
    {
      name: "reachable: everything but loopback",
      unreachable: false,
      given: ["/ip4/127.0.0.1/tcp/1", "/ip4/8.8.4.4/tcp/1", "/ip4/192.168.1.11/tcp/1"],
      kept: ["/ip4/8.8.4.4/tcp/1", "/ip4/192.168.1.11/tcp/1"],
    },
    {
      name: "unreachable without a relay address yet: unchanged (but loopback)",
      unreachable: true,
      given: ["/ip4/127.0.0.1/tcp/1", "/ip4/8.8.4.4/tcp/1"],
      kept: ["/ip4/8.8.4.4/tcp/1"],
    },
    {
      name: "unreachable with a relay address: relayed and LAN addresses, no public or loopback ones",
      unreachable: true,
      given: ["/ip4/127.0.0.1/tcp/1", "/ip4/8.8.4.4/tcp/1", "/ip4/192.168.1.11/tcp/1", RELAY, RELAY_LOOPBACK],
      kept: ["/ip4/192.168.1.11/tcp/1", RELAY],
    },
    {
      name: "a network on one host (only loopback): loopback stays, the relayed one alone when unreachable",
      unreachable: true,
      given: ["/ip4/127.0.0.1/tcp/1", RELAY_LOOPBACK],
      kept: [RELAY_LOOPBACK],
    },
  ];
  it.each(cases)("$name", ({ unreachable, given, kept }) => {
    const out = natAnnounceFilter(() => unreachable)(given.map((a) => multiaddr(a)));
    expect(out.map(String)).toEqual(kept);
  });
});

describe("NAT options", () => {
  it("defaults: local reachability (loopback behaviour), no port mapping, relay limits", () => {
    const opts = resolveNatOptions();
    expect(opts).toMatchObject({ reachability: "local", portMapping: "none", relayedPeerTarget: 3 });
    expect(opts.relay).toMatchObject({ durationLimitMs: 600_000, dataLimitBytes: 16 * 1024 * 1024 });
    expect(natListenAddresses(opts)).toEqual([]);
  });

  it("private and auto listen on /p2p-circuit (a relay reservation); public does not", () => {
    expect(natListenAddresses(resolveNatOptions({ reachability: "private" }))).toEqual(["/p2p-circuit"]);
    expect(natListenAddresses(resolveNatOptions({ reachability: "auto" }))).toEqual(["/p2p-circuit"]);
    expect(natListenAddresses(resolveNatOptions({ reachability: "public" }))).toEqual([]);
  });

  it("an unknown mode is a RangeError", () => {
    expect(() => resolveNatOptions({ reachability: "open" as never })).toThrow(RangeError);
    expect(() => resolveNatOptions({ portMapping: "pcp" as never })).toThrow(RangeError);
  });
});

describe("rendezvousKey", () => {
  it("is a SHA-256 CID per network, the same on every node", () => {
    const a = rendezvousKey("devnet");
    expect(a.multihash.code).toBe(0x12);
    expect(a.equals(rendezvousKey("devnet"))).toBe(true);
    expect(a.equals(rendezvousKey("testnet"))).toBe(false);
  });
});
