import { execFileSync } from "node:child_process";

/**
 * Linux network namespaces as hosts (needs root). One namespace holds a bridge that plays the
 * internet (198.51.100.0/24, documentation range, never routed out: no namespace has a default
 * route towards the machine's own network). Public hosts sit on it; each NAT router has a WAN leg
 * on it and a LAN bridge (192.168.R.0/24) with its hosts behind MASQUERADE: they dial out, nobody
 * dials in. Routers and public hosts have no default route, so a dial to another LAN fails at
 * once (network unreachable) instead of timing out.
 */

export const PREFIX = "qtb-";
const INET = `${PREFIX}inet`;

export interface TestbedHost {
  name: string;
  /** namespace name */
  ns: string;
  ip: string;
  /** 0 for public hosts, else the router number */
  router: number;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function ip(...args: string[]): string {
  return run("ip", args);
}

function inNs(ns: string, cmd: string, ...args: string[]): string {
  return run("ip", ["netns", "exec", ns, cmd, ...args]);
}

/** Our namespaces left by an earlier run (killed before its cleanup). */
export function leftoverNamespaces(): string[] {
  return ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(PREFIX));
}

/** Deletes every namespace with our prefix (deleting a namespace deletes its veths and bridges). */
export function deleteNamespaces(): void {
  for (const ns of leftoverNamespaces()) {
    try {
      ip("netns", "delete", ns);
    } catch {
      // already gone
    }
  }
}

function addNs(ns: string): void {
  ip("netns", "add", ns);
  ip("-n", ns, "link", "set", "lo", "up");
}

/** Builds the internet, `publicHosts` public hosts and `routers` NAT routers with `perRouter` hosts each. */
export function buildTopology(publicHosts: number, routers: number, perRouter: number): TestbedHost[] {
  const hosts: TestbedHost[] = [];
  addNs(INET);
  ip("-n", INET, "link", "add", "br0", "type", "bridge");
  ip("-n", INET, "link", "set", "br0", "up");
  const plug = (ns: string, hostIf: string, sideIf: string, sideNs: string, bridge: string) => {
    ip("link", "add", sideIf, "netns", sideNs, "type", "veth", "peer", "name", hostIf, "netns", ns);
    ip("-n", sideNs, "link", "set", sideIf, "master", bridge);
    ip("-n", sideNs, "link", "set", sideIf, "up");
    ip("-n", ns, "link", "set", hostIf, "up");
  };
  for (let i = 1; i <= publicHosts; i++) {
    const ns = `${PREFIX}pub${i}`;
    addNs(ns);
    plug(ns, "eth0", `vpub${i}`, INET, "br0");
    const addr = `198.51.100.${10 + i}`;
    ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
    hosts.push({ name: `pub${i}`, ns, ip: addr, router: 0 });
  }
  for (let r = 1; r <= routers; r++) {
    const rt = `${PREFIX}rt${r}`;
    addNs(rt);
    plug(rt, "wan", `vrt${r}`, INET, "br0");
    ip("-n", rt, "addr", "add", `198.51.100.${100 + r}/24`, "dev", "wan");
    ip("-n", rt, "link", "add", "lan", "type", "bridge");
    ip("-n", rt, "addr", "add", `192.168.${r}.1/24`, "dev", "lan");
    ip("-n", rt, "link", "set", "lan", "up");
    inNs(rt, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    inNs(rt, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE");
    for (let j = 1; j <= perRouter; j++) {
      const ns = `${PREFIX}n${r}${j}`;
      addNs(ns);
      plug(ns, "eth0", `vn${r}${j}`, rt, "lan");
      const addr = `192.168.${r}.${10 + j}`;
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("-n", ns, "route", "add", "default", "via", `192.168.${r}.1`);
      hosts.push({ name: `n${r}${j}`, ns, ip: addr, router: r });
    }
  }
  return hosts;
}

/** Cuts (or restores) a router's WAN link: its hosts are partitioned from everyone else. */
export function setRouterLink(router: number, up: boolean): void {
  ip("-n", `${PREFIX}rt${router}`, "link", "set", "wan", up ? "up" : "down");
}

/**
 * The router's NAT starts mapping its hosts' connections to other external ports, as a home router
 * does when it reconnects: MASQUERADE now picks random source ports (`--random-fully`; by default
 * Linux keeps the host's port when it can), and a WAN link bounce flushes every existing mapping
 * (the kernel deletes masqueraded conntrack entries of an interface that goes down). Established
 * connections through it break: their next packets leave on a new port the peer knows nothing of.
 */
export function rebindNat(router: number): void {
  const rt = `${PREFIX}rt${router}`;
  inNs(
    rt,
    "iptables",
    "-t",
    "nat",
    "-R",
    "POSTROUTING",
    "1",
    "-o",
    "wan",
    "-j",
    "MASQUERADE",
    "--random-fully",
  );
  ip("-n", rt, "link", "set", "wan", "down");
  ip("-n", rt, "link", "set", "wan", "up");
}

/** Drops a random `probability` of the packets every host receives (loss on every link). */
export function setLoss(hosts: readonly TestbedHost[], probability: number): void {
  for (const h of hosts) {
    inNs(
      h.ns,
      "iptables",
      "-A",
      "INPUT",
      "-i",
      "eth0",
      "-m",
      "statistic",
      "--mode",
      "random",
      "--probability",
      String(probability),
      "-j",
      "DROP",
    );
  }
}

/** Limits a host's outgoing bandwidth with a token bucket (tbf; this kernel has no netem). */
export function setBandwidth(host: TestbedHost, rate: string): void {
  inNs(
    host.ns,
    "tc",
    "qdisc",
    "replace",
    "dev",
    "eth0",
    "root",
    "tbf",
    "rate",
    rate,
    "burst",
    "32kbit",
    "latency",
    "400ms",
  );
}
