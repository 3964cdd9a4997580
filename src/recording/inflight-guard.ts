import {
  Endpoint,
  type EndpointName,
  ErrorType,
  FinishReason,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  type RequestType,
  type Status,
  ToolCallOutcome,
  assertToolCallOutcome,
  finishReasonLabel,
  tellingFinishReason,
} from '../labels/label-values.js';
import type { TokenUsage } from '../openai/openai-payload.js';
import { type TraceLink, isTraceLink } from '../opentelemetry/trace-context.js';
import type { FinishedRequest } from '../opentelemetry/gen-ai-metrics.js';
import type { HistogramRule } from '../schemas/schema.js';
import { errorTypeForStatus } from '../schemas/schemas.js';
import type { EndpointCounts, RequestSeries } from './request-series.js';
import type { GuardContext } from './guard-context.js';
import { countObjectives } from './slo-objectives.js';
import { UpstreamLink } from '../gateway/upstream-link.js';

const NO_USAGE: TokenUsage = {};

/**
 * One request in flight, counted exactly once (Dynamo's RAII guard).
 * Creating it counts the request as started and in progress and starts the
 * timer; the first `finish()` (or dispose) counts it with its status
 * (`error` unless `markOk()` was called), observes its duration, and the
 * token metrics its schema has. Later calls do nothing.
 *
 * A stream records its time to first token and inter-token latencies as its
 * output is reported (`recordOutput`); lengths come from `recordUsage` (or,
 * for a stream, the output tokens reported).
 */
export class InflightGuard implements Disposable {
  private currentStatus: Status = REQUEST_STATUS_ERROR;
  private currentErrorType: ErrorType | undefined;
  private currentRequestType: RequestType;
  private isFinished = false;
  private readonly startedAt: number;
  private firstOutputAt: number | undefined;
  private tokensAtFirstOutput = 0;
  private lastOutputAt: number | undefined;
  private outputTokens = 0;
  private usage: TokenUsage = NO_USAGE;
  private trace: TraceLink | undefined;
  private responseModel: string | undefined;
  private contentStarted = false;
  private finishReason: FinishReason = FinishReason.None;
  /** Tool calls of the answer by outcome, once it made one. */
  private toolCalls: Map<ToolCallOutcome, number> | undefined;

  private readonly counts: EndpointCounts;
  /** With the `upstream` option: what the upstream calls made for the request share with it. */
  private readonly upstream: UpstreamLink | undefined;

  /** @internal created by `LlmMetricsService.createInflightGuard`. */
  constructor(
    private readonly series: RequestSeries,
    readonly endpoint: EndpointName,
    requestType: RequestType,
    private readonly context: GuardContext,
    /** The tier of service-level targets the request asked for (`sloTierFrom`). */
    private readonly sloTier?: string,
  ) {
    this.currentRequestType = requestType;
    this.startedAt = context.clock();
    this.counts = series.endpoint(endpoint);
    series.inProgress += 1;
    series.queued += 1;
    this.counts.countStarted(requestType);
    context.open.add(this);
    this.upstream = context.upstreamScope && new UpstreamLink(series.requestLabels, series.labelValues);
  }

  /**
   * Runs `fn` as part of this request: with the `upstream` option, the calls
   * made through `LlmMetricsService.fetch()` from it (and from the promises,
   * timers and streams it starts) are this request's upstream calls.
   */
  run<T>(fn: () => T): T {
    const scope = this.context.upstreamScope;
    return scope === undefined || this.upstream === undefined ? fn() : scope.run(this.upstream, fn);
  }

  /** The `model` label value this request is recorded under. */
  get model(): string {
    return this.series.model;
  }

  /** The values of the request labels (the `labels` option) this request is recorded under, by name. */
  get labels(): Readonly<Record<string, string>> {
    return this.series.requestLabels;
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

  /** Seconds from the guard's creation to the first output reported, once there was one. */
  get timeToFirstTokenSeconds(): number | undefined {
    return this.firstOutputAt === undefined ? undefined : (this.firstOutputAt - this.startedAt) / 1000;
  }

  /** Whether the finish reasons and tool calls of the answer are wanted (`recordFinishReason`, `recordToolCall`): not of embeddings. */
  get wantsAnswer(): boolean {
    return this.context.readsAnswers && this.endpoint !== Endpoint.Embeddings;
  }

  /** Whether the name of the model the answer names is wanted (`recordResponseModel`), and not known yet. */
  get wantsResponseModel(): boolean {
    return this.context.onFinished !== undefined && this.responseModel === undefined;
  }

  /**
   * Links the request to a trace: with exemplars on, its duration, TTFT and
   * ITL samples carry it. Ids that are not a trace's are ignored; the ones
   * kept are copied, as the exemplars hold on to them.
   * @returns whether the request is linked to `trace` now.
   */
  linkTrace(trace: TraceLink | undefined): boolean {
    this.trace = isTraceLink(trace) ? { trace_id: trace.trace_id, span_id: trace.span_id } : undefined;
    return this.trace !== undefined;
  }

  /** Reports the model the answer names (`gen_ai.response.model` of the OpenTelemetry export). */
  recordResponseModel(model: string): void {
    this.responseModel = model;
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

  /** The `error_type` the request's schema gives an answer of HTTP `status` (e.g. 529 → `overload`). */
  errorTypeForStatus(status: number): ErrorType {
    return errorTypeForStatus(status, this.context.schema);
  }

  /**
   * Reports `tokens` output tokens delivered now, `contentTokens` of them
   * content (the others reasoning). The first output of a stream observes
   * its time to first token, its first content its time to first content
   * token; each later output observes `(now − previous) / tokens` as
   * inter-token latency, `tokens` times.
   */
  recordOutput(tokens = 1, contentTokens = tokens): void {
    if (this.isFinished || !(tokens > 0) || !Number.isFinite(tokens)) {
      return;
    }
    const series = this.series;
    const now = this.context.clock();
    const previous = this.lastOutputAt;
    this.lastOutputAt = now;
    this.outputTokens += tokens;
    series.outputTokens?.add(tokens);
    if (previous === undefined) {
      series.queued -= 1;
      this.firstOutputAt = now;
      this.tokensAtFirstOutput = tokens;
    }
    if (this.currentRequestType !== REQUEST_TYPE_STREAM) {
      return;
    }
    try {
      if (previous === undefined) {
        this.observe('timeToFirstToken', (now - this.startedAt) / 1000);
      } else {
        // n tokens in one chunk: n samples of the latency per token (a fraction of a token counts as one sample).
        this.observe('interTokenLatency', (now - previous) / 1000 / tokens, Math.ceil(tokens));
      }
      if (!this.contentStarted && contentTokens > 0) {
        this.contentStarted = true;
        this.observe('timeToFirstContentToken', (now - this.startedAt) / 1000);
      }
    } catch (err) {
      this.context.onRecordError(err);
    }
  }

  /**
   * Reports a finish reason the answer gave (`stop`, `length`, …; any other
   * is `other`). Of several (one per choice), the request is counted under
   * the one that tells most: `content_filter`, `length`, `tool_calls`,
   * `function_call`, `other`, then `stop`.
   */
  recordFinishReason(reason: string): void {
    if (typeof reason === 'string' && reason !== '') {
      this.finishReason = tellingFinishReason(this.finishReason, finishReasonLabel(reason));
    }
  }

  /**
   * Reports `count` tool calls of the answer, of `outcome`, counted when the request ends.
   * @throws TypeError if `outcome` is not `ok`, `invalid_arguments` or `unknown_tool`.
   */
  recordToolCall(outcome: ToolCallOutcome, count = 1): void {
    assertToolCallOutcome(outcome);
    if (Number.isSafeInteger(count) && count > 0) {
      this.toolCalls ??= new Map();
      this.toolCalls.set(outcome, (this.toolCalls.get(outcome) ?? 0) + count);
    }
  }

  /** Reports the OpenAI `usage` of the request; the latest counts win. */
  recordUsage(usage: TokenUsage): void {
    this.usage = { ...this.usage, ...usage };
  }

  /** The client went away before its answer ended: counts a disconnected client and a cancellation (once the request finishes, it is an error). */
  recordDisconnect(): void {
    if (this.isFinished) {
      return;
    }
    this.context.disconnects += 1;
    this.counts.countCancelled(this.currentRequestType);
  }

  /** The client went away before its answer ended: records the disconnect, and finishes as `cancelled`. */
  cancel(): void {
    if (this.isFinished) {
      return;
    }
    this.recordDisconnect();
    this.markError(ErrorType.Cancelled);
    this.finish();
  }

  /** The request was refused for lack of resources: counts a rejection, and finishes as `overload`. */
  reject(): void {
    if (this.isFinished) {
      return;
    }
    this.counts.countRejected();
    this.markError(ErrorType.Overload);
    this.finish();
  }

  /** Counts the request; runs once, however often it is called. */
  finish(): void {
    if (this.isFinished) {
      return;
    }
    this.isFinished = true;
    this.context.open.delete(this);
    const series = this.series;
    series.inProgress -= 1;
    if (this.lastOutputAt === undefined) {
      series.queued -= 1;
    }
    const now = this.context.clock();
    this.context.onLabelsReleased?.(series.labelValues, now);
    try {
      this.counts.countRequest(this.currentRequestType, this.currentStatus, this.errorType);
      const seconds = (now - this.startedAt) / 1000;
      this.observe('duration', seconds);
      if (this.endpoint === Endpoint.Embeddings) {
        this.observe('embeddingDuration', seconds);
      }
      const succeeded = this.currentStatus === REQUEST_STATUS_SUCCESS;
      series.observeLengths(this.usage, this.outputTokens, succeeded, this.currentRequestType === REQUEST_TYPE_STREAM);
      this.countAnswer();
      this.countGateway(now, seconds);
      const objectives = this.countObjectives(seconds);
      this.context.onFinished?.(this.measured(seconds, objectives));
    } catch (err) {
      this.context.onRecordError(err);
    }
  }

  [Symbol.dispose](): void {
    this.finish();
  }

  /** Observes `value` (`times` times) into the histogram of `rule`, if the schema has one, with the request's trace as its exemplar where the histogram keeps them. */
  private observe(rule: HistogramRule, value: number, times = 1): void {
    this.series.histograms[rule]?.observe(value, times, this.trace);
  }

  /** What the request measured, for `onFinished`. */
  private measured(durationSeconds: number, objectives: FinishedRequest['objectives']): FinishedRequest {
    const first = this.firstOutputAt;
    const laterTokens = this.outputTokens - this.tokensAtFirstOutput;
    return {
      endpoint: this.endpoint,
      model: this.series.model,
      labels: this.series.requestLabels,
      requestType: this.currentRequestType,
      status: this.currentStatus,
      errorType: this.errorType,
      durationSeconds,
      timeToFirstTokenSeconds: this.timeToFirstTokenSeconds,
      timePerOutputTokenSeconds: first !== undefined && laterTokens > 0 ? (this.lastOutputAt! - first) / 1000 / laterTokens : undefined,
      inputTokens: this.usage.prompt_tokens,
      outputTokens: this.knownOutputTokens,
      responseModel: this.responseModel,
      objectives,
      calledUpstream: (this.upstream?.calls ?? 0) > 0,
    };
  }

  /**
   * A request that called upstream: its overhead, the time no upstream call
   * of it was in flight. One that called none answered itself: the cost of
   * its usage (its calls' usage is their own cost, counted once, by them).
   */
  private countGateway(now: number, durationSeconds: number): void {
    const calls = this.upstream?.calls ?? 0;
    if (calls > 0) {
      this.observe('gatewayOverhead', Math.max(0, durationSeconds - this.upstream!.upstreamMs(now) / 1000));
    } else {
      this.series.cost?.record(this.usage, this.outputTokens);
    }
  }

  /** The service-level objectives of the request's endpoint and model (the `slo` option), met or missed. */
  private countObjectives(durationSeconds: number): FinishedRequest['objectives'] {
    const targets = this.context.slo?.targetsFor(this.endpoint, this.series.model, this.sloTier);
    if (targets === undefined) {
      return undefined;
    }
    const ttft = this.currentRequestType === REQUEST_TYPE_STREAM ? this.timeToFirstTokenSeconds : undefined;
    const succeeded = this.currentStatus === REQUEST_STATUS_SUCCESS;
    const inputs = { durationSeconds, timeToFirstTokenSeconds: ttft, outputTokens: this.knownOutputTokens, succeeded };
    return countObjectives(targets, inputs, this.counts, this.series);
  }

  /** The output tokens: the usage's, else those counted; none if unknown. */
  private get knownOutputTokens(): number | undefined {
    return this.usage.completion_tokens ?? (this.outputTokens > 0 ? this.outputTokens : undefined);
  }

  /** What the answer was: its finish reason, its tool calls, the reasoning and cached tokens of its usage. */
  private countAnswer(): void {
    this.counts.countFinishReason(this.finishReason);
    if (this.toolCalls !== undefined) {
      for (const [outcome, count] of this.toolCalls) {
        this.counts.countToolCalls(outcome, count);
      }
    }
    const reasoningTokens = this.usage.completion_tokens_details?.reasoning_tokens;
    if (reasoningTokens !== undefined) {
      this.series.countReasoningTokens(reasoningTokens);
    }
    const cachedTokens = this.usage.prompt_tokens_details?.cached_tokens;
    if (cachedTokens !== undefined) {
      this.series.countCachedPromptTokens(cachedTokens, this.currentStatus === REQUEST_STATUS_SUCCESS);
    }
  }
}
