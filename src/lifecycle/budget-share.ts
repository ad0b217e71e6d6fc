import { setTimeout as sleep } from 'node:timers/promises';

// A call starts once the `perWindow`-th one before it ended a window ago (no window overfills, even by
// arrival). The poller lease means one runner, so a process-local log is the whole count.
export class BudgetShare {
  private readonly ends: number[] = [];

  constructor(
    readonly perWindow: number,
    readonly windowMs: number,
  ) {}

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.ends.length > 0 && (this.ends[0] as number) <= now - this.windowMs) this.ends.shift();
      if (this.ends.length < this.perWindow || signal?.aborted === true) return;
      // An abort ends the wait early (the caller checks `aborted`); node's timer removes its listener.
      await sleep((this.ends[0] as number) + this.windowMs - now + 1, undefined, { signal }).catch(
        () => undefined,
      );
    }
  }

  done(): void {
    this.ends.push(Date.now());
  }
}
