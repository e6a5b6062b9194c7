import { isatty } from "node:tty";
import { pino } from "pino";
import { build as prettyStream } from "pino-pretty";
import { type RotatingFileOptions, RotatingFileStream } from "./rotating-file.js";

/** The logging surface services depend on (pino's, narrowed); tests may pass `silentLogger`. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** How log lines are written: `auto` picks `pretty` when the fd is a terminal, `json` otherwise. */
export type LogFormat = "auto" | "json" | "pretty";

/**
 * A pino logger writing to stdout (or the given fd): JSON lines when the fd is a file or pipe
 * (what log shippers and the tests read), human-readable lines when it is a terminal.
 * Secrets must never be passed in `obj`.
 */
export function createLogger(
  level: LogLevel = "info",
  destinationFd = 1,
  format: LogFormat = "auto",
): Logger {
  const pretty = format === "pretty" || (format === "auto" && isatty(destinationFd));
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  // Synchronous writes: a line is in the file or pipe when the call returns, so nothing is lost
  // when the process dies (kill -9, a crash) and a reader sees lines in order. Log volume is low.
  if (!pretty) return pino(options, pino.destination({ dest: destinationFd, sync: true }));
  // A stream in this thread rather than a transport worker: no extra thread at start-up, and a
  // line is on the terminal before the process exits (a transport may lose the last lines).
  return pino(
    options,
    prettyStream({
      destination: destinationFd,
      sync: true,
      colorize: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    }),
  );
}

/**
 * A pino logger writing JSON lines to a file rotated by size (see RotatingFileStream), for
 * operators who run the node without systemd's journal or docker's log driver. Throws the fs
 * error when the file cannot be opened.
 */
export function createFileLogger(level: LogLevel, file: RotatingFileOptions): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, new RotatingFileStream(file));
}

export const silentLogger: Logger = pino({ level: "silent" });
