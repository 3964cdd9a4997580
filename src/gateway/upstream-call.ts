import { ErrorType, REQUEST_STATUS_ERROR, REQUEST_STATUS_SUCCESS } from '../labels/label-values.js';
import { MAX_READ_BODY_LENGTH, type TokenUsage, usageOfBody } from '../openai/openai-payload.js';
import { SseEventReader } from '../openai/sse-event-reader.js';
import type { HistogramRule, Schema } from '../schemas/schema.js';
import { errorTypeForStatus } from '../schemas/schemas.js';
import type { UpstreamCallInfo, UpstreamCallListener } from '../opentelemetry/gen-ai-client-metrics.js';
import { readRateLimits } from './rate-limit-headers.js';
import type { UpstreamLink } from './upstream-link.js';
import type { UpstreamSeries } from './upstream-series.js';

/** What an upstream call shares with its service. */
export interface UpstreamContext {
  readonly clock: () => number;
  readonly schema: Schema;
  readonly onRecordError: (err: unknown) => void;
  readonly listener: UpstreamCallListener | undefined;
}

/** The `gen_ai.operation.name` of an OpenAI path. */
export function operationOfPath(path: string): string | undefined {
  if (path.endsWith('/chat/completions') || path.endsWith('/responses')) {
    return 'chat';
  }
  if (path.endsWith('/completions')) {
    return 'text_completion';
  }
  return path.endsWith('/embeddings') ? 'embeddings' : undefined;
}

/** The error type of a failure to fetch: the caller aborted it, it timed out, or the provider could not be reached. */
export function errorTypeOfFailure(err: unknown, aborted: boolean): ErrorType {
  const name = (err as { name?: unknown } | null | undefined)?.name;
  if (name === 'TimeoutError') {
    return ErrorType.ResponseTimeout;
  }
  return aborted || name === 'AbortError' ? ErrorType.Cancelled : ErrorType.Unavailable;
}

/**
 * One upstream call, recorded exactly once: started when its `fetch` is
 * called, it observes its response's headers and each chunk of its body as
 * the caller reads them, and ends with the body (read whole, failed, or
 * cancelled) or with a fetch that failed. Nothing it records can fail the call.
 */
export class UpstreamCall implements UpstreamCallInfo {
  private readonly startedAt: number;
  private status: number | undefined;
  private streamed = false;
  private sse: SseEventReader | undefined;
  private lastChunkAt: number | undefined;
  private outputTokens = 0;
  private usage: TokenUsage | undefined;
  private kept: Uint8Array[] | undefined = [];
  private keptLength = 0;
  private ended = false;

  constructor(
    private readonly series: UpstreamSeries,
    private readonly link: UpstreamLink | undefined,
    private readonly context: UpstreamContext,
    readonly operation: string | undefined,
    retry: boolean,
  ) {
    this.startedAt = context.clock();
    link?.callStarted(this.startedAt);
    if (retry) {
      this.safely(() => series.countRetry());
    }
  }

  get provider(): string {
    return this.series.provider;
  }

  get model(): string {
    return this.series.model;
  }

  /** The response's headers arrived: its status, its rate limits, whether it streams. */
  headers(response: { status: number; headers: { get(name: string): string | null } }): void {
    this.safely(() => {
      const now = this.context.clock();
      this.status = response.status;
      this.streamed = /^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '');
      this.observe('upstreamTimeToHeaders', (now - this.startedAt) / 1000);
      this.series.reportRateLimits(readRateLimits(response.headers), now);
    });
  }

  /** A chunk of the body, as the caller reads it. */
  chunk(bytes: Uint8Array): void {
    // Inline rather than through `safely`: a closure less a chunk.
    try {
      if (this.streamed) {
        this.readEvents(bytes);
      } else {
        this.keep(bytes);
      }
    } catch (err) {
      this.fault(err);
    }
  }

  /** The events a chunk of a stream completes: its usage, and its output's time. */
  private readEvents(bytes: Uint8Array): void {
    const summary = (this.sse ??= new SseEventReader()).read(bytes);
    if (summary.usage) {
      this.usage = { ...this.usage, ...summary.usage };
    }
    if (summary.tokens > 0) {
      const now = this.context.clock();
      const first = this.lastChunkAt === undefined;
      const seconds = (now - (this.lastChunkAt ?? this.startedAt)) / 1000;
      this.lastChunkAt = now;
      this.outputTokens += summary.tokens;
      this.observe(first ? 'upstreamTimeToFirstChunk' : 'upstreamTimePerOutputChunk', seconds);
      this.context.listener?.outputChunk(this, seconds, first);
    }
  }

  /** The body was read to its end (or there was none): a success unless the status says otherwise. */
  bodyEnded(): void {
    const status = this.status ?? 0;
    this.end(status >= 400 ? errorTypeForStatus(status, this.context.schema) : undefined);
  }

  /** The body stopped before its end: reading it failed (`err`), or the caller cancelled it (no `err`); `aborted`: the caller's signal aborted. */
  bodyFailed(err: unknown, aborted: boolean): void {
    const status = this.status ?? 0;
    if (status >= 400) {
      // An error answer the caller did not read to its end (the `openai` client's retry) is still that error.
      this.end(errorTypeForStatus(status, this.context.schema));
    } else if (err === undefined) {
      this.end(ErrorType.Cancelled);
    } else {
      const errorType = errorTypeOfFailure(err, aborted);
      // A body that breaks once the provider answered is its failure, not a provider out of reach.
      this.end(errorType === ErrorType.Unavailable ? ErrorType.Internal : errorType);
    }
  }

  /** The fetch failed before any response: unreachable, timed out or aborted. */
  fetchFailed(err: unknown, aborted: boolean): void {
    this.end(errorTypeOfFailure(err, aborted));
  }

  private end(errorType: ErrorType | undefined): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    this.safely(() => {
      const now = this.context.clock();
      this.link?.callEnded(now);
      const status = errorType === undefined ? REQUEST_STATUS_SUCCESS : REQUEST_STATUS_ERROR;
      const durationSeconds = (now - this.startedAt) / 1000;
      this.series.countCall(status, errorType ?? '');
      this.observe('upstreamDuration', durationSeconds);
      const usage = this.usage ?? this.keptUsage();
      this.series.cost?.record(usage, this.outputTokens);
      this.context.listener?.finished({
        operation: this.operation,
        provider: this.provider,
        model: this.model,
        status,
        errorType: errorType ?? '',
        durationSeconds,
        usage,
      });
    });
  }

  /** Keeps a unary body's bytes, up to 1 MiB, to read its usage at the end. */
  private keep(bytes: Uint8Array): void {
    if (this.kept === undefined) {
      return;
    }
    this.keptLength += bytes.byteLength;
    if (this.keptLength > MAX_READ_BODY_LENGTH) {
      this.kept = undefined;
    } else {
      this.kept.push(bytes);
    }
  }

  /** The usage of the unary body kept, if it names one. */
  private keptUsage(): TokenUsage | undefined {
    if (this.kept === undefined || this.kept.length === 0 || this.streamed) {
      return undefined;
    }
    const body = Buffer.concat(this.kept);
    this.kept = undefined;
    return usageOfBody(body);
  }

  private observe(rule: HistogramRule, seconds: number): void {
    this.series.histograms[rule]?.observe(seconds);
  }

  /** A fault of the metrics goes to `onRecordError`, and never into the call, whatever that does with it. */
  private safely(record: () => void): void {
    try {
      record();
    } catch (err) {
      this.fault(err);
    }
  }

  private fault(err: unknown): void {
    try {
      this.context.onRecordError(err);
    } catch {
      // The call goes on.
    }
  }
}
