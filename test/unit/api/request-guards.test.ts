import { describe, expect, it } from "vitest";
import {
  checkJsonContentType,
  HostAllowList,
  HttpError,
  parseRequestTarget,
} from "../../../src/api/request-guards.js";

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

describe("request guards", () => {
  it("decodes a well-formed target: escapes in path and query, '+' as space", () => {
    expect(parseRequestTarget("/api/get%42lock?x=a+b&y=%C3%A9&flag")).toEqual({
      path: "/api/getBlock",
      query: { x: "a b", y: "é", flag: "" },
    });
  });

  it.each(["/%E0%A4%A", "/%ZZ", "/a%", "/?a=%FF", "//x y", "x", "", "/\u0000"])(
    "BAD_REQUEST_TARGET: %j is 400",
    (target) => {
      expect(status(() => parseRequestTarget(target))).toBe(400);
    },
  );

  it("HOST_NOT_ALLOWED: names only the default list or the configuration allows", () => {
    const hosts = new HostAllowList(["Node.Example.test"], "127.0.0.1");
    for (const ok of ["localhost:1", "127.0.0.1", "[::1]:80", "node.example.TEST:9", undefined]) {
      expect(status(() => hosts.check(ok))).toBeUndefined();
    }
    for (const bad of [
      "evil.example",
      "localhost.evil.example",
      "127.0.0.1.nip.io",
      "[::2]",
      "localhost:1:2",
    ]) {
      expect(status(() => hosts.check(bad))).toBe(403);
    }
  });

  it("HOST_NOT_ALLOWED: a specific bound address is allowed; '*' allows any host", () => {
    expect(status(() => new HostAllowList([], "10.1.2.3").check("10.1.2.3:7331"))).toBeUndefined();
    expect(status(() => new HostAllowList([], "10.1.2.3").check("10.1.2.4:7331"))).toBe(403);
    expect(status(() => new HostAllowList(["*"], "127.0.0.1").check("anything"))).toBeUndefined();
  });

  it.each([
    ["application/json", undefined],
    ["application/json; charset=utf-8", undefined],
    ["text/plain", 415],
    ["application/jsonx", 415],
    ["", 415],
    ["application/json; charset=utf-16", 415],
  ])("UNSUPPORTED_MEDIA_TYPE: Content-Type %j -> %s", (type, expected) => {
    expect(status(() => checkJsonContentType(type))).toBe(expected);
  });
});
