import { type BucketsOption, type LogBuckets } from './buckets.js';
import { describeValue } from './describe-value.js';
import { ErrorType } from './labels.js';

/** What a histogram records, and when: the rules the request path observes (`InflightGuard`). */
export type HistogramRule =
  /** Seconds from start to end, every outcome. */
  | 'duration'
  /** Seconds from start to end of an embeddings request. */
  | 'embeddingDuration'
  /** Seconds to the first token of a stream. */
  | 'timeToFirstToken'
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
  | 'cachedTokens';

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
  | HistogramRule;

/** The histograms whose buckets the `buckets` option sets. */
export const HISTOGRAM_KEYS = [
  'requestDuration',
  'timeToFirstToken',
  'interTokenLatency',
  'inputSequenceTokens',
  'outputSequenceTokens',
  'cachedTokens',
  'embeddingLatency',
] as const;
export type HistogramKey = (typeof HISTOGRAM_KEYS)[number];

/** Buckets of the histograms, each optional: the bounds, or `{ min, max, count }` for Dynamo's log-spaced ones. */
export type HistogramBuckets = Partial<Record<HistogramKey, BucketsOption>>;
/** @deprecated the former name of `HistogramBuckets`. */
export type StreamingBuckets = HistogramBuckets;

/** The suffix of Dynamo's `DYN_METRICS_<suffix>_{MIN,MAX,COUNT}` variables for each histogram. */
export const BUCKETS_ENV_NAMES: Readonly<Record<HistogramKey, string>> = {
  requestDuration: 'REQUEST_DURATION',
  timeToFirstToken: 'TTFT',
  interTokenLatency: 'ITL',
  inputSequenceTokens: 'INPUT_SEQUENCE',
  outputSequenceTokens: 'OUTPUT_SEQUENCE',
  cachedTokens: 'INPUT_SEQUENCE',
  embeddingLatency: 'EMBEDDING_LATENCY',
};

export type LabelName = 'model' | 'endpoint' | 'request_type' | 'status' | 'error_type';

/** What every metric of a schema has. */
interface MetricSpecBase {
  /** The name after the prefix (and the schema's infix). */
  readonly suffix: string;
  readonly help: string;
  readonly labels: readonly LabelName[];
  /** A token metric: left out with `streamingMetrics: false`. */
  readonly tokens?: boolean;
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

export const DEFAULT_PREFIX = 'nv_llm';

/** Buckets (seconds) of `{prefix}_http_service_request_duration_seconds`, as in Dynamo 0.2.1. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Default buckets (seconds) of `{prefix}_http_service_time_to_first_token_seconds`. */
export const TIME_TO_FIRST_TOKEN_BUCKETS: readonly number[] = [
  0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 240, 480,
];
/** Default buckets (seconds) of `{prefix}_http_service_inter_token_latency_seconds`. */
export const INTER_TOKEN_LATENCY_BUCKETS: readonly number[] = [0, 0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];
/** Default buckets (tokens) of `{prefix}_http_service_input_sequence_tokens`. */
export const INPUT_SEQUENCE_TOKENS_BUCKETS: readonly number[] = [0, 50, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000];
/** Default buckets (tokens) of `{prefix}_http_service_output_sequence_tokens`. */
export const OUTPUT_SEQUENCE_TOKENS_BUCKETS: readonly number[] = [0, 50, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000];

/** Dynamo's frontend log buckets: `{ min, max, count }` of each histogram. */
export const DYNAMO_FRONTEND_BUCKETS: Readonly<Record<HistogramKey, LogBuckets>> = {
  requestDuration: { min: 1, max: 512, count: 10 },
  timeToFirstToken: { min: 0.001, max: 480, count: 18 },
  interTokenLatency: { min: 0.001, max: 2, count: 13 },
  inputSequenceTokens: { min: 50, max: 128000, count: 12 },
  outputSequenceTokens: { min: 50, max: 32000, count: 10 },
  cachedTokens: { min: 50, max: 128000, count: 12 },
  embeddingLatency: { min: 0.001, max: 10, count: 14 },
};

const MODEL: readonly LabelName[] = ['model'];
const STARTED: readonly LabelName[] = ['model', 'endpoint', 'request_type'];

/** The 0.2.1 error types (the opt-in `error_type`). */
const ERROR_TYPES_0_2_1: Readonly<Record<number, ErrorType>> = {
  404: ErrorType.NotFound,
  429: ErrorType.Overload,
  529: ErrorType.Overload,
  501: ErrorType.NotImplemented,
  503: ErrorType.Unavailable,
};

/** Dynamo 0.2.1's HTTP-service metrics, and the streaming histograms of the releases after it. */
export const DYNAMO_0_2_1: Schema = {
  name: 'dynamo-0.2.1',
  defaultPrefix: DEFAULT_PREFIX,
  infix: '_http_service_',
  errorTypeLabel: 'option',
  errorTypesByStatus: ERROR_TYPES_0_2_1,
  metrics: [
    {
      rule: 'requests',
      suffix: 'requests_total',
      type: 'counter',
      help: 'Total number of LLM requests processed',
      labels: ['model', 'endpoint', 'request_type', 'status'],
    },
    { rule: 'inProgress', suffix: 'inflight_requests', type: 'gauge', help: 'Number of inflight requests', labels: MODEL },
    {
      rule: 'duration',
      suffix: 'request_duration_seconds',
      type: 'histogram',
      help: 'Duration of LLM requests',
      labels: MODEL,
      buckets: { key: 'requestDuration', defaults: REQUEST_DURATION_BUCKETS },
    },
    {
      rule: 'timeToFirstToken',
      suffix: 'time_to_first_token_seconds',
      type: 'histogram',
      help: 'Time to first token in seconds',
      labels: MODEL,
      buckets: { key: 'timeToFirstToken', defaults: TIME_TO_FIRST_TOKEN_BUCKETS },
      tokens: true,
    },
    {
      rule: 'interTokenLatency',
      suffix: 'inter_token_latency_seconds',
      type: 'histogram',
      help: 'Inter-token latency in seconds',
      labels: MODEL,
      buckets: { key: 'interTokenLatency', defaults: INTER_TOKEN_LATENCY_BUCKETS },
      tokens: true,
    },
    {
      rule: 'inputTokensOnSuccess',
      suffix: 'input_sequence_tokens',
      type: 'histogram',
      help: 'Input sequence length in tokens',
      labels: MODEL,
      buckets: { key: 'inputSequenceTokens', defaults: INPUT_SEQUENCE_TOKENS_BUCKETS },
      tokens: true,
    },
    {
      rule: 'outputTokensOnSuccess',
      suffix: 'output_sequence_tokens',
      type: 'histogram',
      help: 'Output sequence length in tokens',
      labels: MODEL,
      buckets: { key: 'outputSequenceTokens', defaults: OUTPUT_SEQUENCE_TOKENS_BUCKETS },
      tokens: true,
    },
  ],
};

/** Dynamo's frontend metrics today (`dynamo_frontend_*`), as far as an HTTP frontend can produce them. */
export const DYNAMO_FRONTEND: Schema = {
  name: 'dynamo-frontend',
  defaultPrefix: 'dynamo_frontend',
  infix: '_',
  errorTypeLabel: 'always',
  errorTypesByStatus: { ...ERROR_TYPES_0_2_1, 499: ErrorType.Cancelled, 500: ErrorType.Internal },
  metrics: [
    {
      rule: 'requests',
      suffix: 'requests_total',
      type: 'counter',
      help: 'Total number of LLM requests processed',
      labels: ['model', 'endpoint', 'request_type', 'status', 'error_type'],
    },
    {
      rule: 'requestsStarted',
      suffix: 'requests_started_total',
      type: 'counter',
      help: 'Total number of LLM requests accepted by the frontend handler',
      labels: STARTED,
    },
    {
      rule: 'inProgress',
      suffix: 'active_requests',
      type: 'gauge',
      help: 'Number of requests currently being handled by the frontend, from HTTP handler entry to response completion',
      labels: MODEL,
    },
    { rule: 'inProgress', suffix: 'inflight_requests', type: 'gauge', help: 'Number of inflight requests', labels: MODEL },
    { rule: 'queued', suffix: 'queued_requests', type: 'gauge', help: 'Number of requests in HTTP processing queue', labels: MODEL },
    { rule: 'disconnects', suffix: 'disconnected_clients', type: 'gauge', help: 'Number of disconnected clients', labels: [] },
    {
      rule: 'cancellations',
      suffix: 'model_cancellation_total',
      type: 'counter',
      help: 'Total number of request cancellations',
      labels: STARTED,
    },
    {
      rule: 'rejections',
      suffix: 'model_rejection_total',
      type: 'counter',
      help: 'Total number of requests rejected due to resource exhaustion',
      labels: ['model', 'endpoint'],
    },
    {
      rule: 'ready',
      suffix: 'model_ready',
      type: 'gauge',
      help: 'Whether the frontend can route at least one inference request for the model (1 = ready, 0 = not ready)',
      labels: MODEL,
    },
    {
      rule: 'duration',
      suffix: 'request_duration_seconds',
      type: 'histogram',
      help: 'Duration of LLM requests',
      labels: MODEL,
      buckets: { key: 'requestDuration', defaults: DYNAMO_FRONTEND_BUCKETS.requestDuration },
    },
    {
      rule: 'timeToFirstToken',
      suffix: 'time_to_first_token_seconds',
      type: 'histogram',
      help: 'Time to first token in seconds',
      labels: MODEL,
      buckets: { key: 'timeToFirstToken', defaults: DYNAMO_FRONTEND_BUCKETS.timeToFirstToken },
      tokens: true,
    },
    {
      rule: 'interTokenLatency',
      suffix: 'inter_token_latency_seconds',
      type: 'histogram',
      help: 'Inter-token latency in seconds',
      labels: MODEL,
      buckets: { key: 'interTokenLatency', defaults: DYNAMO_FRONTEND_BUCKETS.interTokenLatency },
      tokens: true,
    },
    {
      rule: 'inputTokens',
      suffix: 'input_sequence_tokens',
      type: 'histogram',
      help: 'Input sequence length in tokens',
      labels: MODEL,
      buckets: { key: 'inputSequenceTokens', defaults: DYNAMO_FRONTEND_BUCKETS.inputSequenceTokens },
      tokens: true,
    },
    {
      rule: 'outputTokens',
      suffix: 'output_sequence_tokens',
      type: 'histogram',
      help: 'Output sequence length in tokens',
      labels: MODEL,
      buckets: { key: 'outputSequenceTokens', defaults: DYNAMO_FRONTEND_BUCKETS.outputSequenceTokens },
      tokens: true,
    },
    {
      rule: 'outputTokensLive',
      suffix: 'output_tokens_total',
      type: 'counter',
      help: 'Total number of output tokens generated (updates in real-time)',
      labels: MODEL,
      tokens: true,
    },
    {
      rule: 'cachedTokens',
      suffix: 'cached_tokens',
      type: 'histogram',
      help: 'Number of cached tokens (prefix cache hits) per request',
      labels: MODEL,
      buckets: { key: 'cachedTokens', defaults: DYNAMO_FRONTEND_BUCKETS.cachedTokens },
      tokens: true,
    },
    {
      rule: 'embeddingDuration',
      suffix: 'embedding_latency_seconds',
      type: 'histogram',
      help: 'End-to-end latency of /v1/embeddings requests, in seconds. Distinct from request_duration_seconds so the bucket range can cover sub-second pooling-model inference.',
      labels: MODEL,
      buckets: { key: 'embeddingLatency', defaults: DYNAMO_FRONTEND_BUCKETS.embeddingLatency },
    },
  ],
};

/** The schemas, by name. */
export const SCHEMAS: Readonly<Record<SchemaName, Schema>> = { 'dynamo-0.2.1': DYNAMO_0_2_1, 'dynamo-frontend': DYNAMO_FRONTEND };

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Returns `prefix` if it can start a Prometheus metric name.
 * @throws TypeError naming the bad prefix otherwise.
 */
export function assertMetricPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new TypeError(`nestjs-llm-metrics: invalid metric prefix ${describeValue(prefix)}: ` + `a prefix must match ${METRIC_PREFIX}`);
  }
  return prefix;
}

/** The `error_type` of an error answered with HTTP `status`, in `schema` (default: the 0.2.1 one). */
export function errorTypeForStatus(status: number, schema: Schema = DYNAMO_0_2_1): ErrorType {
  return schema.errorTypesByStatus[status] ?? (status >= 400 && status < 500 ? ErrorType.Validation : ErrorType.Internal);
}
