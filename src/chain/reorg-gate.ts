/**
 * Whether a reorg is half-way: its blocks are disconnected and connected one write at a time, and
 * between those writes the main chain ends below both tips (at the fork point, at worst). Readers
 * that answer for the chain as a whole (a peer's headers request after our status claimed the old
 * tip's work) wait for `settled` rather than serve that passing state.
 */
export class ReorgGate {
  private done: Promise<void> | undefined;
  private release: (() => void) | undefined;

  begin(): void {
    this.done = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  end(): void {
    this.release?.();
    this.done = undefined;
    this.release = undefined;
  }

  /** Resolves once no reorg is half-way (at once when none is). */
  async settled(): Promise<void> {
    while (this.done) await this.done;
  }
}
