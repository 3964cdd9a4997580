import type { Counter, Gauge, Histogram } from 'prom-client';
import {
  type EndpointName,
  ErrorType,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  type RequestType,
  type Status,
} from './labels.js';
import type { TokenUsage } from './openai-payload.js';

/** A monotonic clock in milliseconds. */
export type Clock = () => number;

/** The streaming histograms' children of one model. */
export interface StreamingSeries {
  readonly timeToFirstToken: Histogram.Internal<string>;
  readonly interTokenLatency: Histogram.Internal<string>;
  readonly inputSequenceTokens: Histogram.Internal<string>;
  readonly outputSequenceTokens: Histogram.Internal<string>;
}

/** A `requests_total` child and the increments not handed to it yet. */
interface PendingCount {
  readonly child: Counter.Internal;
  pending: number;
}

/**
 * The series of one model. The in-flight count and the request counts are
 * plain numbers while requests run, handed to prom-client whenever the
 * registry is read (from the metrics' `collect`); histograms are observed as
 * requests go, through children bound once.
 */
export class ModelSeries {
  /** Requests of this model in flight now. */
  inflightCount = 0;
  private readonly counts = new Map<string, PendingCount>();

  constructor(
    readonly model: string,
    private readonly requestCounter: Counter<string>,
    private readonly withErrorType: boolean,
    private readonly inflight: Gauge.Internal<string>,
    readonly duration: Histogram.Internal<string>,
    readonly streaming: StreamingSeries | undefined,
  ) {}

  /** Counts one finished request under these labels. */
  count(endpoint: EndpointName, requestType: RequestType, status: Status, errorType: string): void {
    const key = this.withErrorType
      ? `${endpoint}\u0000${requestType}\u0000${status}\u0000${errorType}`
      : `${endpoint}\u0000${requestType}\u0000${status}`;
    let count = this.counts.get(key);
    if (!count) {
      const labels = this.withErrorType
        ? [this.model, endpoint, requestType, status, errorType]
        : [this.model, endpoint, requestType, status];
      count = { child: this.requestCounter.labels(...labels), pending: 0 };
      this.counts.set(key, count);
    }
    count.pending += 1;
  }

  /** Hands the in-flight count to the gauge. */
  publishInflight(): void {
    this.inflight.set(this.inflightCount);
  }

  /** Hands the requests counted since the last read to the counter. */
  publishCounts(): void {
    for (const count of this.counts.values()) {
      if (count.pending > 0) {
        count.child.inc(count.pending);
        count.pending = 0;
      }
    }
  }
}

/** What a guard shares with its service. */
export interface GuardContext {
  readonly clock: Clock;
  /** The guards not finished yet, so that a shutting-down app can finish them. */
  readonly open: Set<InflightGuard>;
  /** Called when recording a metric throws; the guard carries on. */
  readonly onRecordError: (err: unknown) => void;
}

/**
 * One request in flight, counted exactly once (Dynamo's RAII guard).
 * Creating it increments the in-flight gauge and starts the timer; the first
 * `finish()` (or dispose) decrements the gauge, counts the request with its
 * status (`error` unless `markOk()` was called) and observes its duration.
 * Later calls do nothing.
 *
 * A streaming request also records its time to first token and inter-token
 * latencies as output is reported (`recordOutput`), and a successful one its
 * input and output lengths (`recordUsage`, or the output tokens reported).
 */
export class InflightGuard implements Disposable {
  private currentStatus: Status = REQUEST_STATUS_ERROR;
  private currentErrorType: ErrorType | undefined;
  private currentRequestType: RequestType;
  private isFinished = false;
  private readonly startedAt: number;
  private lastOutputAt: number | undefined;
  private outputTokens = 0;
  private usage: TokenUsage | undefined;

  /** @internal created by `LlmMetricsService.createInflightGuard`. */
  constructor(
    private readonly series: ModelSeries,
    readonly endpoint: EndpointName,
    requestType: RequestType,
    private readonly context: GuardContext,
  ) {
    this.currentRequestType = requestType;
    this.startedAt = context.clock();
    series.inflightCount += 1;
    context.open.add(this);
  }

  /** The `model` label value this request is recorded under. */
  get model(): string {
    return this.series.model;
  }

  /** The `request_type` `finish()` will record. */
  get requestType(): RequestType {
    return this.currentRequestType;
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

  /** Records the request as a stream from now on (e.g. once its answer turns out to be an event stream). */
  markStream(): void {
    this.currentRequestType = REQUEST_TYPE_STREAM;
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
    if (!streaming || this.currentRequestType !== REQUEST_TYPE_STREAM) {
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
    this.context.open.delete(this);
    const series = this.series;
    series.inflightCount -= 1;
    try {
      series.count(this.endpoint, this.currentRequestType, this.currentStatus, this.errorType);
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

  /** Lengths are known only for a request that ended well. */
  private observeLengths(streaming: StreamingSeries): void {
    const promptTokens = this.usage?.prompt_tokens;
    if (promptTokens !== undefined) {
      streaming.inputSequenceTokens.observe(promptTokens);
    }
    const completionTokens =
      this.usage?.completion_tokens ?? (this.currentRequestType === REQUEST_TYPE_STREAM ? this.outputTokens : undefined);
    if (completionTokens !== undefined) {
      streaming.outputSequenceTokens.observe(completionTokens);
    }
  }
}
