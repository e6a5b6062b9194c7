/** The oldest Node.js Quarry runs on (package.json "engines"; libp2p's dependencies need 22.12). */
export const MIN_NODE_VERSION = "22.12.0";

/**
 * The one-line refusal for a Node.js older than `MIN_NODE_VERSION`, or undefined when `version`
 * (as `process.versions.node`) is new enough. npm's scripts run the project's pinned Node 24.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [minMajor = 0, minMinor = 0] = MIN_NODE_VERSION.split(".").map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `needs Node.js ${MIN_NODE_VERSION} or newer, this is v${version}: run it through npm (npm start, npm run quarry -- <command>), which uses the project's pinned Node 24`;
}
