// Every delay in the simulator goes through one Clock so that one time-scale factor speeds the whole
// world up (timeScale 0.001: a 30 s instance boot takes 30 ms) and stop() can cancel every timer.
export class Clock {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(public timeScale: number) {}

  /** Wall-clock time; timestamps in responses are real, only durations are scaled. */
  now(): Date {
    return new Date();
  }

  /** Real milliseconds for a duration given in simulated (AWS-time) milliseconds. */
  scaled(simMs: number): number {
    return Math.max(0, simMs * this.timeScale);
  }

  /** Runs fn after simMs of simulated time. Returns a cancel function. */
  after(simMs: number, fn: () => void): () => void {
    if (this.stopped) return () => {};
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.scaled(simMs));
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Resolves after simMs of simulated time (or at once once stopped). */
  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped || simMs <= 0) return resolve();
      this.after(simMs, resolve);
    });
  }

  /** Cancels pending timers (reset keeps the clock usable; stop also refuses new ones). */
  clear(stop = false): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (stop) this.stopped = true;
  }

  get pending(): number {
    return this.timers.size;
  }
}
