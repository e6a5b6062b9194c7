import type { Logger } from "../util/index.js";
import { QuarryError } from "../util/index.js";

export class NodeStartError extends QuarryError<{ code: "NODE_START_FAILED"; stage: string }> {}

/** One service in start order: its name, how to start it, and how to stop it again. */
export type LifecycleStep = readonly [stage: string, up: () => Promise<void>, down: () => Promise<void>];

/**
 * Starts services in the order given and stops them in reverse. A failed start stops what did
 * start and throws (a QuarryError as it is, anything else as NodeStartError naming the stage).
 */
export class Lifecycle {
  private downs: (() => Promise<void>)[] = [];

  constructor(
    private readonly steps: readonly LifecycleStep[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.downs = [];
    for (const [stage, up, down] of this.steps) {
      try {
        await up();
      } catch (err) {
        this.log.error({ err, stage }, "start failed; stopping what started");
        await this.stop();
        if (err instanceof QuarryError) throw err;
        throw new NodeStartError({ code: "NODE_START_FAILED", stage }, `${stage}: ${(err as Error).message}`);
      }
      this.downs.unshift(down);
    }
  }

  /** Stops what started, newest first; a failing step is logged and the rest still stop. Idempotent. */
  async stop(): Promise<void> {
    const downs = this.downs;
    this.downs = [];
    for (const down of downs) {
      try {
        await down();
      } catch (err) {
        this.log.error({ err }, "stop step failed");
      }
    }
  }
}
