import type { ErrorType } from '../labels/label-values.js';
import type { BucketsOption } from './buckets.js';

/** What a histogram records, and when: the rules the request path observes (`InflightGuard`). */
export type HistogramRule =
  /** Seconds from start to end, every outcome. */
  | 'duration'
  /** Seconds from start to end of an embeddings request. */
  | 'embeddingDuration'
  /** Seconds to the first token of a stream. */
  | 'timeToFirstToken'
  /** Seconds to the first content token of a stream: its first output that is not reasoning. */
  | 'timeToFirstContentToken'
  /** For each later chunk of a stream with n tokens, (now − previous) / n, n times. */
  | 'interTokenLatency'
  /** Prompt tokens of a request that succeeded. */
  | 'inputTokensOnSuccess'
  /** Prompt tokens, whenever they are known at the end. */
  | 'inputTokens'
  /** Completion tokens of a request that succeeded (a stream without usage: its counted tokens). */
  | 'outputTokensOnSuccess'
  /** Completion tokens at the end, if any. */
  | 'outputTokens'
  /** Cached prompt tokens, whenever they are known at the end. */
  | 'cachedTokens'
  /** Seconds of an upstream call, from its start to the end of its body (or its failure). */
  | 'upstreamDuration'
  /** Seconds of an upstream call to its response headers. */
  | 'upstreamTimeToHeaders'
  /** Seconds of a streamed upstream call to its first chunk of output. */
  | 'upstreamTimeToFirstChunk'
  /** For each later chunk of output of a streamed upstream call, the seconds since the one before. */
  | 'upstreamTimePerOutputChunk'
  /** Seconds of a request that called upstream, not spent waiting on an upstream call, when it ends. */
  | 'gatewayOverhead';

/**
 * What a metric records, and when: the rules the request path runs
 * (`InflightGuard`). A schema is a table of metrics, each with one of
 * these rules; another schema is another table.
 */
export type RecordingRule =
  /** Counter: +1 when a request ends, by model, endpoint, request type, status (and error type). */
  | 'requests'
  /** Counter: +1 when a request starts, by model, endpoint, request type. */
  | 'requestsStarted'
  /** Gauge: requests between their start and their end, by model. */
  | 'inProgress'
  /** Gauge: requests between their start and their first token (or their end), by model. */
  | 'queued'
  /** Gauge: clients that went away before their answer ended; never goes down. */
  | 'disconnects'
  /** Counter: +1 when a client goes away, by model, endpoint, request type. */
  | 'cancellations'
  /** Counter: +1 when the handler reports a rejection for lack of resources, by model, endpoint. */
  | 'rejections'
  /** Gauge: 1 or 0 per model, from the `modelReady` option, read when scraped. */
  | 'ready'
  /** Counter: output tokens, as chunks stream (a unary answer's when it ends), by model. */
  | 'outputTokensLive'
  /** Counter: +1 when a request ends, by model, endpoint and the finish reason its answer gave (`none` if it gave none). */
  | 'finishReasons'
  /** Counter: +1 for each tool call of an answer, judged, by model, endpoint and outcome. */
  | 'toolCalls'
  /** Counter: the usage's reasoning tokens, whenever known at the end, by model. */
  | 'reasoningTokens'
  /** Counter: the usage's cached prompt tokens, whenever known at the end, by model. */
  | 'cachedPromptTokens'
  /** Counter: the usage's cached prompt tokens of a request that succeeded, by model (as `inputTokensOnSuccess` counts its prompt). */
  | 'cachedPromptTokensOnSuccess'
  /** Counter: +1 per service-level objective of the `slo` option a request's value is known for, met or missed, and for `all` of them, when it ends. */
  | 'sloRequests'
  /** Counter: the output tokens of a request that met all its service-level objectives, when it ends. */
  | 'goodputTokens'
  /** Counter: +1 when an upstream call ends, by model, provider, status and error type. */
  | 'upstreamRequests'
  /** Counter: +1 when an upstream call starts that retries an earlier one (the `openai` client's retry count). */
  | 'upstreamRetries'
  /** Gauge: the remaining rate limit the provider's headers last reported, by model, provider and limit. */
  | 'rateLimitRemaining'
  /** Gauge: the seconds to the rate limit's reset the provider's headers last reported, by model, provider and limit. */
  | 'rateLimitReset'
  /** Counter: the cost of the usage of each upstream call (or of a request that called none) that has a price, when it ends. */
  | 'cost'
  /** Counter: the tokens of that usage, by token type. */
  | 'pricedTokens'
  /** Counter: the tokens of a usage without a price, or counted from a stream that reported no usage, by token type. */
  | 'unpricedTokens'
  /** Gauge: each price the cost was counted at, by model, provider, currency and token type. */
  | 'prices'
  | HistogramRule;

/** The histograms whose buckets the `buckets` option sets. */
export const HISTOGRAM_KEYS = [
  'requestDuration',
  'timeToFirstToken',
  'timeToFirstContentToken',
  'interTokenLatency',
  'inputSequenceTokens',
  'outputSequenceTokens',
  'cachedTokens',
  'embeddingLatency',
  'upstreamDuration',
  'upstreamTimeToHeaders',
  'upstreamTimeToFirstChunk',
  'upstreamTimePerOutputChunk',
  'gatewayOverhead',
] as const;
export type HistogramKey = (typeof HISTOGRAM_KEYS)[number];

/** Buckets of the histograms, each optional: the bounds, or `{ min, max, count }` for Dynamo's log-spaced ones. */
export type HistogramBuckets = Partial<Record<HistogramKey, BucketsOption>>;
/** @deprecated the former name of `HistogramBuckets`. */
export type StreamingBuckets = HistogramBuckets;

export type LabelName =
  | 'model'
  | 'endpoint'
  | 'request_type'
  | 'status'
  | 'error_type'
  | 'finish_reason'
  | 'outcome'
  | 'slo'
  | 'provider'
  | 'limit'
  | 'currency'
  | 'token_type';

/** The metrics read from what an answer says, each with its own switch in the `answerMetrics` option. */
export const ANSWER_METRICS = ['finishReasons', 'toolCalls', 'reasoningTokens', 'cachedTokens', 'timeToFirstContentToken'] as const;
export type AnswerMetric = (typeof ANSWER_METRICS)[number];

/** Which answer metrics are on without the option: the counters, a few series each; not the histogram, as many series as time to first token's. */
export const ANSWER_METRICS_BY_DEFAULT: Readonly<Record<AnswerMetric, boolean>> = {
  finishReasons: true,
  toolCalls: true,
  reasoningTokens: true,
  cachedTokens: true,
  timeToFirstContentToken: false,
};

/** What every metric of a schema has. */
interface MetricSpecBase {
  /** The name after the prefix (and the schema's infix). */
  readonly suffix: string;
  readonly help: string;
  readonly labels: readonly LabelName[];
  /** A token metric: left out with `streamingMetrics: false`. */
  readonly tokens?: boolean;
  /** A metric read from what the answer says: left out when the `answerMetrics` option turns it off. */
  readonly answer?: AnswerMetric;
  /** A metric of the service-level objectives: only with the `slo` option. */
  readonly slo?: true;
  /** A metric of upstream calls (only with the `upstream` option), or of cost (only with `prices`). */
  readonly gateway?: 'upstream' | 'prices';
}

/** One metric of a schema: a counter or gauge, or a histogram with its buckets. */
export type MetricSpec =
  | (MetricSpecBase & { readonly type: 'counter' | 'gauge'; readonly rule: Exclude<RecordingRule, HistogramRule> })
  | (MetricSpecBase & {
      readonly type: 'histogram';
      readonly rule: HistogramRule;
      /** The default buckets, and the key of the `buckets` option that sets them. */
      readonly buckets: { readonly key: HistogramKey; readonly defaults: BucketsOption };
    });

export type SchemaName = 'dynamo-0.2.1' | 'dynamo-frontend';

/** A naming of the measurements: Dynamo 0.2.1's, or Dynamo's frontend today. */
export interface Schema {
  readonly name: SchemaName;
  readonly defaultPrefix: string;
  /** Between the prefix and a metric's suffix. */
  readonly infix: string;
  /** `error_type` on `requests_total`: always, or with the `errorType` option. */
  readonly errorTypeLabel: 'always' | 'option';
  /** The error type of an answer's status, where it is not `validation` (other 4xx) or `internal` (the rest). */
  readonly errorTypesByStatus: Readonly<Record<number, ErrorType>>;
  readonly metrics: readonly MetricSpec[];
}

/** The rules of the families that carry a request label unless its `metrics` says otherwise: the count of requests, what their answers were, and the tokens. */
export const LABELLED_BY_DEFAULT: ReadonlySet<RecordingRule> = new Set<RecordingRule>([
  'requests',
  'inputTokens',
  'inputTokensOnSuccess',
  'outputTokens',
  'outputTokensOnSuccess',
  'outputTokensLive',
  'cachedTokens',
  'finishReasons',
  'toolCalls',
  'reasoningTokens',
  'cachedPromptTokens',
  'cachedPromptTokensOnSuccess',
  'sloRequests',
  'goodputTokens',
  'cost',
  'pricedTokens',
  'unpricedTokens',
]);

/** Whether the families of `rule` are measured per request, and so can carry a request label (readiness and disconnects are not). */
export function isPerRequest(rule: RecordingRule): boolean {
  return rule !== 'ready' && rule !== 'disconnects' && rule !== 'prices';
}
