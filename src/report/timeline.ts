/**
 * Start and end of every phase of every pipeline, so the job summary can draw where the time went
 * (launch, ssh, deploy, stop, image, roll) and a slow stage stands out.
 */
import type { Clock } from '../lib/runtime.js';

export interface Span {
  /** The pipeline: an image id for image stages, a group name for its roll. */
  readonly lane: string;
  readonly phase: string;
  readonly start: number;
  end: number | undefined;
  ok: boolean | undefined;
}

/** Records spans; phases wrap their work in `record` and never think about timing again. */
export class Timeline {
  readonly spans: Span[] = [];

  constructor(private readonly clock: Clock) {}

  /** Runs `work` as one span of `phase` in `lane`, recording whether it succeeded. */
  async record<T>(lane: string, phase: string, work: () => Promise<T>): Promise<T> {
    const span: Span = { lane, phase, start: this.clock.now(), end: undefined, ok: undefined };
    this.spans.push(span);
    try {
      const value = await work();
      span.ok = true;
      return value;
    } catch (error) {
      span.ok = false;
      throw error;
    } finally {
      span.end = this.clock.now();
    }
  }
}
