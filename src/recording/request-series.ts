import {
  type FinishReason,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  type RequestType,
  type SloObjective,
  type SloOutcome,
  type Status,
  type ToolCallOutcome,
} from '../labels/label-values.js';
import type { CostCounts } from '../gateway/cost-ledger.js';
import type { TokenUsage } from '../openai/openai-payload.js';
import type { HistogramRule } from '../schemas/schema.js';
import type { HistogramSeries } from '../store/histogram-series.js';
import { type CounterFamily, familyLabels, withCarriedLabels } from '../store/metric-family.js';
import type { CounterSeries, LabelValues } from '../store/series.js';

/** A counter of the schema, and the request labels it carries. */
export interface CounterBinding {
  readonly family: CounterFamily;
  readonly carried: readonly string[];
}

/** The counters a request counts into, where the schema has them. */
export interface RequestCounters {
  /** `requests_total`; `withErrorType`: with its `error_type` label. */
  readonly requests: (CounterBinding & { readonly withErrorType: boolean }) | undefined;
  readonly started: CounterBinding | undefined;
  readonly cancellations: CounterBinding | undefined;
  readonly rejections: CounterBinding | undefined;
  readonly outputTokens: CounterBinding | undefined;
  /** `finish_reasons_total`, by endpoint and finish reason. */
  readonly finishReasons: CounterBinding | undefined;
  /** `tool_calls_total`, by endpoint and outcome. */
  readonly toolCalls: CounterBinding | undefined;
  readonly reasoningTokens: CounterBinding | undefined;
  /** `onSuccessOnly`: counted as the schema's input lengths are, only for requests that succeed. */
  readonly cachedPromptTokens: (CounterBinding & { readonly onSuccessOnly: boolean }) | undefined;
  /** `slo_requests_total`, by endpoint, objective and outcome. */
  readonly sloRequests: CounterBinding | undefined;
  readonly goodputTokens: CounterBinding | undefined;
}

/** Index of a request type in the per-type slots. */
function typeIndex(requestType: RequestType): 0 | 1 {
  return requestType === REQUEST_TYPE_STREAM ? 1 : 0;
}

/**
 * The counter series of one model, request-label values and endpoint, bound
 * the first time each label set is counted, so that counting a request
 * builds no key.
 */
export class EndpointCounts {
  private readonly successes: (CounterSeries | undefined)[] = [undefined, undefined];
  /** By request type, then error type (one key, `error`, without the `error_type` label). */
  private readonly errors = [new Map<string, CounterSeries>(), new Map<string, CounterSeries>()];
  private readonly startedSeries: (CounterSeries | undefined)[] = [undefined, undefined];
  private readonly cancelledSeries: (CounterSeries | undefined)[] = [undefined, undefined];
  private rejectedSeries: CounterSeries | undefined;
  private readonly finishReasonSeries: Partial<Record<FinishReason, CounterSeries>> = {};
  private readonly toolCallSeries: Partial<Record<ToolCallOutcome, CounterSeries>> = {};
  /** By objective: the series of `met` and of `missed`. */
  private readonly sloSeries: Partial<Record<SloObjective, Partial<Record<SloOutcome, CounterSeries>>>> = {};

  constructor(
    private readonly series: RequestSeries,
    private readonly endpoint: string,
    private readonly counters: RequestCounters,
  ) {}

  /** Counts a request that ended, in `requests_total`. */
  countRequest(requestType: RequestType, status: Status, errorType: string): void {
    const binding = this.counters.requests;
    if (binding === undefined) {
      return;
    }
    const index = typeIndex(requestType);
    if (status === REQUEST_STATUS_SUCCESS) {
      (this.successes[index] ??= this.bind(binding, {
        request_type: requestType,
        status,
        ...(binding.withErrorType && { error_type: '' }),
      })).add();
      return;
    }
    const key = binding.withErrorType ? errorType : 'error';
    let series = this.errors[index].get(key);
    if (series === undefined) {
      series = this.bind(binding, { request_type: requestType, status, ...(binding.withErrorType && { error_type: errorType }) });
      this.errors[index].set(key, series);
    }
    series.add();
  }

  /** Counts a request that started. */
  countStarted(requestType: RequestType): void {
    const binding = this.counters.started;
    if (binding !== undefined) {
      (this.startedSeries[typeIndex(requestType)] ??= this.bind(binding, { request_type: requestType })).add();
    }
  }

  /** Counts a client that went away. */
  countCancelled(requestType: RequestType): void {
    const binding = this.counters.cancellations;
    if (binding !== undefined) {
      (this.cancelledSeries[typeIndex(requestType)] ??= this.bind(binding, { request_type: requestType })).add();
    }
  }

  /** Counts a request refused for lack of resources. */
  countRejected(): void {
    const binding = this.counters.rejections;
    if (binding !== undefined) {
      (this.rejectedSeries ??= this.bind(binding, {})).add();
    }
  }

  /** Counts a request that ended, by the finish reason of its answer. */
  countFinishReason(reason: FinishReason): void {
    const binding = this.counters.finishReasons;
    if (binding !== undefined) {
      (this.finishReasonSeries[reason] ??= this.bind(binding, { finish_reason: reason })).add();
    }
  }

  /** Counts `count` tool calls of an answer, of `outcome`. */
  countToolCalls(outcome: ToolCallOutcome, count: number): void {
    const binding = this.counters.toolCalls;
    if (binding !== undefined) {
      (this.toolCallSeries[outcome] ??= this.bind(binding, { outcome })).add(count);
    }
  }

  /** Counts a request that ended under one service-level objective (or `all`), met or missed. */
  countObjective(objective: SloObjective, outcome: SloOutcome): void {
    const binding = this.counters.sloRequests;
    if (binding !== undefined) {
      ((this.sloSeries[objective] ??= {})[outcome] ??= this.bind(binding, { slo: objective, outcome })).add();
    }
  }

  /** The series of `binding`'s counter with the model, this endpoint, `labels` and the request labels it carries, in its label order. */
  private bind(binding: CounterBinding, labels: Readonly<Record<string, string>>): CounterSeries {
    const own = { model: this.series.model, endpoint: this.endpoint, ...labels };
    return binding.family.counter(familyLabels(binding.family.labelNames, own, this.series.requestLabels));
  }
}

/**
 * What the requests of one model (and one value of each request label)
 * record into: gauges' measures as plain numbers (read when a gauge is
 * read), the histogram series of its schema (bound once), and its counter
 * series, by endpoint.
 */
export class RequestSeries {
  /** Requests of this series between their start and their end. */
  inProgress = 0;
  /** Requests of this series between their start and their first token (or their end). */
  queued = 0;
  /** Output tokens as they stream, where the schema counts them. */
  readonly outputTokens: CounterSeries | undefined;
  private readonly endpoints = new Map<string, EndpointCounts>();
  private reasoningTokenSeries: CounterSeries | undefined;
  private cachedPromptTokenSeries: CounterSeries | undefined;
  private goodputTokenSeries: CounterSeries | undefined;

  constructor(
    readonly model: string,
    /** The value of each request label, in the order of `RequestLabels.names`. */
    readonly labelValues: readonly string[],
    /** The request labels by name. */
    readonly requestLabels: LabelValues,
    /** The histogram series of each rule of the schema. */
    readonly histograms: Readonly<Partial<Record<HistogramRule, HistogramSeries>>>,
    private readonly counters: RequestCounters,
    /** With the `prices` option: the cost of the requests that called no upstream, which answered themselves. */
    readonly cost: CostCounts | undefined = undefined,
  ) {
    const tokens = counters.outputTokens;
    this.outputTokens = tokens && tokens.family.counter(this.labelsOf(tokens.carried));
  }

  /** `{ model, …the carried request labels }`: the labels of a family keyed by model and `carried`. */
  labelsOf(carried: readonly string[]): LabelValues {
    return withCarriedLabels({ model: this.model }, this.requestLabels, carried);
  }

  /** Counts the reasoning tokens of an answer's usage, where the schema counts them; the series appears with the first usage that tells them. */
  countReasoningTokens(tokens: number): void {
    const binding = this.counters.reasoningTokens;
    if (binding !== undefined) {
      (this.reasoningTokenSeries ??= binding.family.counter(this.labelsOf(binding.carried))).add(tokens);
    }
  }

  /** Counts the cached prompt tokens of a request's usage, where the schema counts them (`succeeded`: whether the request did). */
  countCachedPromptTokens(tokens: number, succeeded: boolean): void {
    const binding = this.counters.cachedPromptTokens;
    if (binding !== undefined && (succeeded || !binding.onSuccessOnly)) {
      (this.cachedPromptTokenSeries ??= binding.family.counter(this.labelsOf(binding.carried))).add(tokens);
    }
  }

  /** Counts the output tokens of a request that met every service-level objective. */
  countGoodputTokens(tokens: number): void {
    const binding = this.counters.goodputTokens;
    if (binding !== undefined) {
      (this.goodputTokenSeries ??= binding.family.counter(this.labelsOf(binding.carried))).add(tokens);
    }
  }

  /**
   * The input, output and cached lengths of a request that ended: those a
   * schema takes on success, and those it takes whenever they are known.
   * `countedTokens`: the output tokens reported as they went out (a stream's);
   * `streamed`: whether the request streamed.
   */
  observeLengths(usage: TokenUsage, countedTokens: number, succeeded: boolean, streamed: boolean): void {
    const { prompt_tokens: promptTokens, completion_tokens: usageCompletion } = usage;
    const histograms = this.histograms;
    if (countedTokens === 0 && usageCompletion !== undefined && usageCompletion > 0) {
      // An answer that came whole: its output tokens, now.
      this.outputTokens?.add(usageCompletion);
    }
    if (succeeded) {
      if (promptTokens !== undefined) {
        histograms.inputTokensOnSuccess?.observe(promptTokens);
      }
      // A stream without usage: its counted tokens, even none.
      const completionTokens = usageCompletion ?? (streamed ? countedTokens : undefined);
      if (completionTokens !== undefined) {
        histograms.outputTokensOnSuccess?.observe(completionTokens);
      }
    }
    if (promptTokens !== undefined) {
      histograms.inputTokens?.observe(promptTokens);
    }
    const outputTokens = usageCompletion ?? countedTokens;
    if (outputTokens > 0) {
      histograms.outputTokens?.observe(outputTokens);
    }
    const cachedTokens = usage.prompt_tokens_details?.cached_tokens;
    if (cachedTokens !== undefined) {
      histograms.cachedTokens?.observe(cachedTokens);
    }
  }

  /** The counter series of `endpoint`. */
  endpoint(endpoint: string): EndpointCounts {
    let counts = this.endpoints.get(endpoint);
    if (counts === undefined) {
      counts = new EndpointCounts(this, endpoint, this.counters);
      this.endpoints.set(endpoint, counts);
    }
    return counts;
  }
}
