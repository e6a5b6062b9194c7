import type { Logger } from "../util/index.js";

/**
 * True for the one uncaught exception libp2p itself can raise in normal operation:
 * `@chainsafe/libp2p-yamux` (8.0.1) sends a new stream's first window update from a microtask,
 * and when the connection closes in between (the remote hung up, or we evicted or banned the
 * peer) that send throws `StreamStateError: Cannot write to a stream that is closed` where no
 * caller can catch it (upstream: ChainSafe/js-libp2p-yamux#91, libp2p/js-libp2p#2505). Only the
 * dead stream is affected.
 */
export function isClosedStreamWrite(err: unknown): boolean {
  return err instanceof Error && err.name === "StreamStateError" && /yamux/i.test(err.stack ?? "");
}

/**
 * Installs a process `uncaughtException` handler for a long-running node: the libp2p stream race
 * above is logged at debug and ignored (50 nodes evicting peers crashed a simulation worker with
 * it); any other uncaught exception is logged and ends the process with exit code 1, as Node's
 * default would. Returns the function that removes the handler.
 */
export function installStreamRaceGuard(log: Logger): () => void {
  const handler = (err: Error): void => {
    if (isClosedStreamWrite(err)) {
      log.debug({ err: err.message }, "ignored a write to a stream closed under it (libp2p race)");
      return;
    }
    log.error({ err }, "uncaught exception");
    process.exit(1);
  };
  process.on("uncaughtException", handler);
  return () => process.off("uncaughtException", handler);
}
