import type { Counter, Gauge, Histogram } from 'prom-client';
import { type EndpointName, type RequestType, type Status, REQUEST_STATUS_ERROR, REQUEST_STATUS_SUCCESS } from './labels.js';

/** The label-bound children of one model, bound once and reused by every request for it. */
export class ModelSeries {
  private readonly counters = new Map<string, Counter.Internal>();

  constructor(
    readonly model: string,
    private readonly requestCounter: Counter<string>,
    readonly inflight: Gauge.Internal<string>,
    readonly duration: Histogram.Internal<string>,
  ) {}

  counter(endpoint: EndpointName, requestType: RequestType, status: Status): Counter.Internal {
    const key = `${endpoint}\u0000${requestType}\u0000${status}`;
    let child = this.counters.get(key);
    if (!child) {
      child = this.requestCounter.labels(this.model, endpoint, requestType, status);
      this.counters.set(key, child);
    }
    return child;
  }
}

/**
 * One request in flight, counted exactly once. Creating it increments the
 * in-flight gauge and starts the timer; the first `finish()` (or dispose)
 * decrements the gauge, counts the request with its status (`error` unless
 * `markOk()` was called) and observes its duration. Later calls do nothing.
 */
export class InflightGuard implements Disposable {
  private currentStatus: Status = REQUEST_STATUS_ERROR;
  private isFinished = false;
  private readonly startedAt = performance.now();

  /** @internal created by `LlmMetricsService.createInflightGuard`. */
  constructor(
    private readonly series: ModelSeries,
    readonly endpoint: EndpointName,
    readonly requestType: RequestType,
  ) {
    series.inflight.inc();
  }

  /** The `model` label value this request is recorded under. */
  get model(): string {
    return this.series.model;
  }

  /** The status `finish()` will record (or recorded). */
  get status(): Status {
    return this.currentStatus;
  }

  /** Whether the request has been counted. */
  get finished(): boolean {
    return this.isFinished;
  }

  /** Seconds since the guard was created. */
  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Records the request as a success when it finishes. */
  markOk(): void {
    this.currentStatus = REQUEST_STATUS_SUCCESS;
  }

  /** Records the request as an error when it finishes, even if it was marked ok. */
  markError(): void {
    this.currentStatus = REQUEST_STATUS_ERROR;
  }

  /** Counts the request; runs once, however often it is called. */
  finish(): void {
    if (this.isFinished) {
      return;
    }
    this.isFinished = true;
    const series = this.series;
    series.inflight.dec();
    series.counter(this.endpoint, this.requestType, this.currentStatus).inc();
    series.duration.observe(this.elapsedSeconds());
  }

  [Symbol.dispose](): void {
    this.finish();
  }
}
