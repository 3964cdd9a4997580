import type { Counter, Gauge } from 'prom-client';
import {
  type EndpointName,
  ErrorType,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  type RequestType,
  type Status,
} from './labels.js';
import type { HistogramSeries } from './model-histogram.js';
import type { TokenUsage } from './openai-chunk.inspector.js';

/** The streaming histograms' children of one model. */
export interface StreamingSeries {
  readonly timeToFirstToken: HistogramSeries;
  readonly interTokenLatency: HistogramSeries;
  readonly inputSequenceTokens: HistogramSeries;
  readonly outputSequenceTokens: HistogramSeries;
}

const ERROR_TYPES: readonly string[] = Object.values(ErrorType);

/** A `requests_total` child and the increments not yet handed to it. */
interface PendingCount {
  readonly child: Counter.Internal;
  pending: number;
}

/**
 * The series of one model. The in-flight count and the request counts are
 * plain numbers on the hot path, handed to prom-client when the registry is
 * read (`publish`, from the metrics' `collect`); histograms are observed as
 * requests go, through children bound once.
 */
export class ModelSeries {
  /** Requests of this model in flight now. */
  inflightCount = 0;
  private readonly counts = new Map<string, PendingCount>();
  private readonly slotsByEndpoint = new Map<EndpointName, (PendingCount | undefined)[]>();

  constructor(
    readonly model: string,
    private readonly requestCounter: Counter<string>,
    private readonly withErrorType: boolean,
    private readonly inflight: Gauge.Internal<string>,
    readonly duration: HistogramSeries,
    readonly streaming: StreamingSeries | undefined,
  ) {}

  /** The count of one label set of `requests_total`; its child is bound the first time. */
  count(endpoint: EndpointName, requestType: RequestType, status: Status, errorType: string): PendingCount {
    // Found through a small array per endpoint rather than a joined string key.
    let slots = this.slotsByEndpoint.get(endpoint);
    if (!slots) {
      slots = [];
      this.slotsByEndpoint.set(endpoint, slots);
    }
    const errorSlot = status === REQUEST_STATUS_ERROR ? (this.withErrorType ? ERROR_TYPES.indexOf(errorType) : 0) : -1;
    if (errorSlot === -1 && status === REQUEST_STATUS_ERROR) {
      return this.countByKey(endpoint, requestType, status, errorType);
    }
    const slot = (errorSlot + 1) * 2 + (requestType === REQUEST_TYPE_STREAM ? 1 : 0);
    return (slots[slot] ??= this.countByKey(endpoint, requestType, status, errorType));
  }

  private countByKey(endpoint: EndpointName, requestType: RequestType, status: Status, errorType: string): PendingCount {
    const key = `${endpoint}\u0000${requestType}\u0000${status}\u0000${errorType}`;
    let count = this.counts.get(key);
    if (!count) {
      const child = this.withErrorType
        ? this.requestCounter.labels(this.model, endpoint, requestType, status, errorType)
        : this.requestCounter.labels(this.model, endpoint, requestType, status);
      count = { child, pending: 0 };
      this.counts.set(key, count);
    }
    return count;
  }

  /** Hands the in-flight count to the gauge. */
  publishInflight(): void {
    this.inflight.set(this.inflightCount);
  }

  /** Hands the requests counted since the last read to the counter. */
  publishCounts(): void {
    for (const count of this.counts.values()) {
      if (count.pending > 0) {
        const pending = count.pending;
        count.pending = 0;
        count.child.inc(pending);
      }
    }
  }
}

/** A monotonic clock in milliseconds. */
export type Clock = () => number;

/**
 * The guards not finished yet, so that a shutting-down app can finish them:
 * a list linked through the guards themselves, so that adding and removing
 * one touches no hash table (a `Set`'s costs a request more once it is out of
 * the CPU's caches, as it is between requests).
 */
export class OpenGuards {
  /** @internal the newest open guard. */
  head: InflightGuard | undefined;
  /** The number of open guards. */
  size = 0;

  /** The open guards, oldest first. */
  toArray(): InflightGuard[] {
    const guards: InflightGuard[] = [];
    for (let guard = this.head; guard !== undefined; guard = guard['nextOpen']) {
      guards.push(guard);
    }
    return guards.reverse();
  }
}

/** What a guard shares with its service: the clock, the open guards, and where recording faults go. */
export interface GuardContext {
  readonly clock: Clock;
  /** The guards not finished yet, so that a shutting-down app can finish them. */
  readonly open: OpenGuards;
  /** Called when recording a metric throws; the guard carries on. */
  readonly onRecordError: (err: unknown) => void;
}

/**
 * One request in flight, counted exactly once. Creating it increments the
 * in-flight gauge and starts the timer; the first `finish()` (or dispose)
 * decrements the gauge, counts the request with its status (`error` unless
 * `markOk()` was called) and observes its duration. Later calls do nothing.
 *
 * A streaming request also records its time to first token and inter-token
 * latencies as output is reported (`recordOutput`), and a successful one its
 * input and output lengths (`recordUsage`, or the output tokens reported).
 */
export class InflightGuard implements Disposable {
  private currentStatus: Status = REQUEST_STATUS_ERROR;
  private currentErrorType: ErrorType | undefined;
  private isFinished = false;
  private readonly startedAt: number;
  private lastOutputAt: number | undefined;
  private outputTokens = 0;
  private usage: TokenUsage | undefined;
  // Links of the context's list of open guards.
  private previousOpen: InflightGuard | undefined;
  private nextOpen: InflightGuard | undefined;

  /** @internal created by `LlmMetricsService.createInflightGuard`. */
  constructor(
    private readonly series: ModelSeries,
    readonly endpoint: EndpointName,
    readonly requestType: RequestType,
    private readonly context: GuardContext,
  ) {
    this.startedAt = context.clock();
    series.inflightCount += 1;
    const open = context.open;
    const next = open.head;
    if (next !== undefined) {
      next.previousOpen = this;
    }
    this.nextOpen = next;
    open.head = this;
    open.size += 1;
  }

  /** The `model` label value this request is recorded under. */
  get model(): string {
    return this.series.model;
  }

  /** The status `finish()` will record (or recorded). */
  get status(): Status {
    return this.currentStatus;
  }

  /** The `error_type` `finish()` will record: `''` on success, `internal` unless told otherwise. */
  get errorType(): ErrorType | '' {
    return this.currentStatus === REQUEST_STATUS_SUCCESS ? '' : (this.currentErrorType ?? ErrorType.Internal);
  }

  /** Whether the request has been counted. */
  get finished(): boolean {
    return this.isFinished;
  }

  /** Seconds since the guard was created. */
  elapsedSeconds(): number {
    return (this.context.clock() - this.startedAt) / 1000;
  }

  /** Records the request as a success when it finishes. */
  markOk(): void {
    this.currentStatus = REQUEST_STATUS_SUCCESS;
  }

  /** Records the request as an error (of `errorType`, default `internal`) when it finishes, even if it was marked ok. */
  markError(errorType: ErrorType = ErrorType.Internal): void {
    this.currentStatus = REQUEST_STATUS_ERROR;
    this.currentErrorType = errorType;
  }

  /**
   * Reports `tokens` output tokens delivered now. The first output of a
   * stream observes its time to first token; each later one observes
   * `(now − previous) / tokens` as inter-token latency, `tokens` times.
   */
  recordOutput(tokens = 1): void {
    if (this.isFinished || !(tokens > 0) || !Number.isFinite(tokens)) {
      return;
    }
    this.outputTokens += tokens;
    const streaming = this.series.streaming;
    if (!streaming || this.requestType !== REQUEST_TYPE_STREAM) {
      return;
    }
    const now = this.context.clock();
    try {
      if (this.lastOutputAt === undefined) {
        streaming.timeToFirstToken.observe((now - this.startedAt) / 1000);
      } else {
        const latency = (now - this.lastOutputAt) / 1000 / tokens;
        for (let i = 0; i < tokens; i++) {
          streaming.interTokenLatency.observe(latency);
        }
      }
    } catch (err) {
      this.context.onRecordError(err);
    }
    this.lastOutputAt = now;
  }

  /** Reports the OpenAI `usage` of the request; the latest counts win. */
  recordUsage(usage: TokenUsage): void {
    this.usage = { ...this.usage, ...usage };
  }

  /** Counts the request; runs once, however often it is called. */
  finish(): void {
    if (this.isFinished) {
      return;
    }
    this.isFinished = true;
    this.leaveOpenGuards();
    const series = this.series;
    series.inflightCount -= 1;
    try {
      series.count(this.endpoint, this.requestType, this.currentStatus, this.errorType).pending += 1;
      series.duration.observe(this.elapsedSeconds());
      if (series.streaming && this.currentStatus === REQUEST_STATUS_SUCCESS) {
        this.observeLengths(series.streaming);
      }
    } catch (err) {
      this.context.onRecordError(err);
    }
  }

  [Symbol.dispose](): void {
    this.finish();
  }

  private leaveOpenGuards(): void {
    const open = this.context.open;
    const { previousOpen, nextOpen } = this;
    if (previousOpen !== undefined) {
      previousOpen.nextOpen = nextOpen;
    } else {
      open.head = nextOpen;
    }
    if (nextOpen !== undefined) {
      nextOpen.previousOpen = previousOpen;
    }
    this.previousOpen = undefined;
    this.nextOpen = undefined;
    open.size -= 1;
  }

  /** Lengths are known only for a request that ended well. */
  private observeLengths(streaming: StreamingSeries): void {
    const promptTokens = this.usage?.prompt_tokens;
    if (promptTokens !== undefined) {
      streaming.inputSequenceTokens.observe(promptTokens);
    }
    const completionTokens =
      this.usage?.completion_tokens ?? (this.requestType === REQUEST_TYPE_STREAM ? this.outputTokens : undefined);
    if (completionTokens !== undefined) {
      streaming.outputSequenceTokens.observe(completionTokens);
    }
  }
}
