import { pino } from "pino";

/** The logging surface services depend on (pino's, narrowed); tests may pass `silentLogger`. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** JSON lines to stdout (or the given fd); secrets must never be passed in `obj`. */
export function createLogger(level: LogLevel = "info", destinationFd = 1): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination(destinationFd),
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
