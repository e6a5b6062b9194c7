import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import {
  AddressBans,
  canonicalIp,
  ipOfMultiaddr,
  LevelPeerDb,
  MemoryPeerDb,
  OPERATOR_BAN_CODE,
} from "../../../src/network/index.js";
import { manualClock } from "../../../src/util/clock.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("AddressBans", () => {
  it.each([
    ["192.0.2.7", "192.0.2.7"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["::ffff:192.0.2.7", "::ffff:c000:207"],
    ["12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDbmaNaDhHTUVdZ4VtG", undefined],
    ["192.0.2", undefined],
    ["", undefined],
  ])("canonicalIp(%s) is %s", (text, expected) => {
    expect(canonicalIp(text)).toBe(expected);
  });

  it("ipOfMultiaddr takes /ip4 and /ip6 and nothing else", () => {
    expect(ipOfMultiaddr(multiaddr("/ip4/198.51.100.3/tcp/7333"))).toBe("198.51.100.3");
    expect(ipOfMultiaddr(multiaddr("/ip6/2001:db8:0::2/tcp/7333"))).toBe("2001:db8::2");
    expect(ipOfMultiaddr(multiaddr("/dns4/example.org/tcp/7333"))).toBeUndefined();
  });

  it("OPERATOR_BAN of an address refuses its multiaddrs, whatever the spelling, until it expires", () => {
    const clock = manualClock(1_000);
    const bans = new AddressBans({ peerDb: new MemoryPeerDb(), clock });
    expect(bans.ban("2001:DB8::0:1", "noisy", 10_000)).toEqual({
      address: "2001:db8::1",
      code: OPERATOR_BAN_CODE,
      reason: "noisy",
      sinceMs: 1_000,
      untilMs: 11_000,
    });
    expect(bans.refuses(multiaddr("/ip6/2001:db8::1/tcp/1"))).toBe(true);
    expect(bans.refuses(multiaddr("/ip6/2001:db8::2/tcp/1"))).toBe(false);
    expect(bans.isBanned("2001:db8:0:0::1")).toBe(true);
    clock.advanceMs(10_000);
    expect(bans.refuses(multiaddr("/ip6/2001:db8::1/tcp/1"))).toBe(false);
    expect(bans.list()).toEqual([]);
  });

  it("rejects a target that is not an IP address (RangeError); unban of an unbanned address is undefined", () => {
    const bans = new AddressBans({ peerDb: new MemoryPeerDb() });
    expect(() => bans.ban("example.org", "x", 1_000)).toThrow(RangeError);
    expect(bans.unban("192.0.2.1")).toBeUndefined();
  });

  it("address bans persist in the peer database; load() drops expired ones; unban deletes", async () => {
    const tmp = tempDir("quarry-address-bans-");
    try {
      const clock = manualClock(1_000);
      let db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      const bans = new AddressBans({ peerDb: db, clock });
      bans.ban("192.0.2.1", "long", 60_000);
      bans.ban("192.0.2.2", "short", 1_000);
      await bans.flush();
      await db.close();

      clock.advanceMs(2_000);
      db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      const reloaded = new AddressBans({ peerDb: db, clock });
      await reloaded.load();
      expect(reloaded.list().map((b) => b.address)).toEqual(["192.0.2.1"]);
      expect((await db.addressBans()).map((b) => b.address)).toEqual(["192.0.2.1"]);
      expect(reloaded.unban("192.0.2.1")?.reason).toBe("long");
      await reloaded.flush();
      expect(await db.addressBans()).toEqual([]);
      await db.close();
    } finally {
      tmp.cleanup();
    }
  });
});
