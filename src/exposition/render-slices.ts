import { performance } from 'node:perf_hooks';

/**
 * Cuts a long render into slices of about `sliceMs` milliseconds of work,
 * so that a scrape of many series never holds the event loop longer: the
 * renderer asks `due()` after each series, and `pause()`s when it says so.
 */
export class RenderSlices {
  private sliceStart = performance.now();
  private sinceCheck = 0;
  private longest = 0;
  private count = 0;

  constructor(
    private readonly sliceMs = 0.5,
    /** Run between two slices: what it returns (e.g. a stream's `drain`) is waited for before the turn of the event loop. */
    private readonly between?: () => Promise<void> | undefined,
  ) {}

  /**
   * Whether this slice has run its time, after a piece of work of `weight`:
   * the clock is read once 16 units of work were done (a series written in
   * text is one, a metric encoded in protobuf 16).
   */
  due(weight = 1): boolean {
    this.sinceCheck += weight;
    if (this.sinceCheck < 16) {
      return false;
    }
    this.sinceCheck = 0;
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Lets the event loop run what waits (I/O, timers), then starts the next slice. */
  async pause(): Promise<void> {
    this.end();
    await this.between?.();
    // A turn of the event loop even after a wait: what resolves it (an I/O callback) may run before the loop's other work.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  /** Ends the last slice: call once the render is done. */
  end(): void {
    this.longest = Math.max(this.longest, performance.now() - this.sliceStart);
    this.count += 1;
  }

  /** The longest slice so far, in ms, and how many there were. */
  get stats(): { readonly longestMs: number; readonly slices: number } {
    return { longestMs: this.longest, slices: this.count };
  }
}
