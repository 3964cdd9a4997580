import { AsyncLocalStorage } from 'node:async_hooks';
import type { LabelValues } from '../store/series.js';

/**
 * What the upstream calls of one tracked request share with it: its request
 * labels, and the time some call of it was in flight (calls that overlap
 * count once), from which its overhead is the rest of its duration.
 */
export class UpstreamLink {
  /** Upstream calls made for the request so far. */
  calls = 0;
  private active = 0;
  private busySince = 0;
  private busyMs = 0;

  constructor(
    /** The request labels of the request, by name. */
    readonly requestLabels: LabelValues,
    /** Their values, in the order of the `labels` option. */
    readonly labelValues: readonly string[],
  ) {}

  /** An upstream call of the request started at `now` (ms). */
  callStarted(now: number): void {
    this.calls += 1;
    if (this.active++ === 0) {
      this.busySince = now;
    }
  }

  /** An upstream call of the request ended at `now` (ms). */
  callEnded(now: number): void {
    if (this.active > 0 && --this.active === 0) {
      this.busyMs += now - this.busySince;
    }
  }

  /** Milliseconds some upstream call of the request was in flight, up to `now`. */
  upstreamMs(now: number): number {
    return this.busyMs + (this.active > 0 ? now - this.busySince : 0);
  }
}

/**
 * The tracked request an upstream call is made for: the link of the request
 * whose handler runs (`AsyncLocalStorage`, so that promises, timers and
 * streams started from the handler carry it).
 */
export class UpstreamScope {
  private readonly storage = new AsyncLocalStorage<UpstreamLink>();

  /** Runs `fn` as part of the request of `link`. */
  run<T>(link: UpstreamLink, fn: () => T): T {
    return this.storage.run(link, fn);
  }

  /** The link of the request running now, if any. */
  current(): UpstreamLink | undefined {
    return this.storage.getStore();
  }
}
