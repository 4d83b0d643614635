// Every delay in the simulator goes through one Clock so that one time-scale factor speeds the whole
// world up (timeScale 0.001: a 30 s instance boot takes 30 ms) and stop() can cancel every timer.
//
// A test can also hold the clock: simulated time stops, timers queue instead of firing, and advance()
// moves time forward by hand, firing what falls due in order. A test that asserts an intermediate
// state (a Pending instance, a Baking refresh) then sees it however slow the machine is, instead of
// racing real time for it.

interface Timer {
  /** Simulated ms (on simTime()) at which it fires. */
  due: number;
  /** Scheduling order: timers due at the same moment fire in the order they were set. */
  seq: number;
  fn: () => void;
  /** The real timeout while the clock runs; none while held. */
  handle?: NodeJS.Timeout;
}

const byDue = (a: Timer, b: Timer): number => a.due - b.due || a.seq - b.seq;

/** One turn of the event loop: promise chains started by a fired timer run to their end first. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Clock {
  private readonly timers = new Set<Timer>();
  private stopped = false;
  private frozen = false;
  private seq = 0;
  private scale: number;
  // Simulated time is `base` at real time `realBase`, and runs at 1 / timeScale of real time from there
  // (while held it stays at `base`). Rebasing on every change keeps it continuous and monotonic.
  private base = 0;
  private realBase: number;
  private advancing: Promise<void> = Promise.resolve();

  /** `realNow` reads real milliseconds (injectable so scaling can be checked without waiting). */
  constructor(
    timeScale: number,
    private readonly realNow: () => number = () => performance.now(),
  ) {
    this.scale = timeScale;
    this.realBase = realNow();
  }

  get timeScale(): number {
    return this.scale;
  }

  /** A new factor applies from now on; simulated time so far is kept. */
  set timeScale(value: number) {
    this.base = this.simTime();
    this.realBase = this.realNow();
    this.scale = value;
  }

  /** Wall-clock time; timestamps in responses are real, only durations are scaled. */
  now(): Date {
    return new Date();
  }

  /** Simulated milliseconds since the clock started: frozen while held, moved by advance(). */
  simTime(): number {
    if (this.frozen) return this.base;
    return this.base + (this.realNow() - this.realBase) / Math.max(this.scale, 1e-9);
  }

  /** Real milliseconds for a duration given in simulated (AWS-time) milliseconds. */
  scaled(simMs: number): number {
    return Math.max(0, simMs * this.timeScale);
  }

  /** Runs fn after simMs of simulated time. Returns a cancel function. */
  after(simMs: number, fn: () => void): () => void {
    if (this.stopped) return () => {};
    const delay = Math.max(0, simMs);
    const timer: Timer = { due: this.simTime() + delay, seq: ++this.seq, fn };
    this.timers.add(timer);
    if (!this.frozen) this.arm(timer, delay);
    return () => {
      clearTimeout(timer.handle);
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

  get held(): boolean {
    return this.frozen;
  }

  /** Stops simulated time: pending and new timers wait for advance() or release(). */
  hold(): void {
    if (this.frozen) return;
    // Whole milliseconds (rounded up, so time never goes back): held arithmetic is then exact.
    this.base = Math.ceil(this.simTime());
    this.frozen = true;
    for (const t of this.timers) {
      clearTimeout(t.handle);
      t.handle = undefined;
    }
  }

  /**
   * Moves held time forward by simMs, firing every timer that falls due on the way in order, including
   * timers those set; between two timers the event loop turns so chained transitions are scheduled.
   * Resolves once time stands at the target. Calls queue behind each other.
   */
  advance(simMs: number): Promise<void> {
    if (!this.frozen) return Promise.reject(new Error('Clock.advance() needs a held clock: hold() first'));
    const run = this.advancing.then(() => this.run(Math.max(0, simMs)));
    this.advancing = run.catch(() => {});
    return run;
  }

  private async run(simMs: number): Promise<void> {
    const target = this.base + simMs;
    for (;;) {
      await settle();
      if (!this.frozen) return; // released meanwhile: real time has taken over
      let next: Timer | undefined;
      for (const t of this.timers) if (t.due <= target && (!next || byDue(t, next) < 0)) next = t;
      if (!next) break;
      this.timers.delete(next);
      this.base = Math.max(this.base, next.due);
      next.fn();
    }
    this.base = target;
  }

  /** Resumes scaled real time; queued timers fire after what is left of their delay. */
  release(): void {
    if (!this.frozen) return;
    this.frozen = false;
    this.realBase = this.realNow();
    for (const t of [...this.timers].sort(byDue)) this.arm(t, t.due - this.base);
  }

  private arm(timer: Timer, simMs: number): void {
    timer.handle = setTimeout(() => {
      this.timers.delete(timer);
      timer.fn();
    }, this.scaled(simMs));
  }

  /** Cancels pending timers (reset keeps the clock usable; stop also refuses new ones). */
  clear(stop = false): void {
    for (const t of this.timers) clearTimeout(t.handle);
    this.timers.clear();
    if (stop) this.stopped = true;
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Simulated ms until the next queued timer, if any. */
  get nextIn(): number | undefined {
    const next = [...this.timers].sort(byDue)[0];
    return next && Math.max(0, next.due - this.simTime());
  }
}
