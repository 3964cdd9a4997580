import { ErrorType } from '../labels/label-values.js';
import { answerMetrics } from './answer.schema.js';
import { SLO_METRICS } from './slo.schema.js';
import { gatewayMetrics } from './gateway.schema.js';
import type { LabelName, Schema } from './schema.js';

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

/** Default buckets (seconds) of `{prefix}_http_service_gateway_overhead_seconds`: a gateway's own time is milliseconds. */
export const GATEWAY_OVERHEAD_BUCKETS: readonly number[] = [0, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const MODEL: readonly LabelName[] = ['model'];

/** The 0.2.1 error types (the opt-in `error_type`). */
export const ERROR_TYPES_0_2_1: Readonly<Record<number, ErrorType>> = {
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
    ...answerMetrics(TIME_TO_FIRST_TOKEN_BUCKETS, 'cachedPromptTokensOnSuccess'),
    ...SLO_METRICS,
    ...gatewayMetrics({
      upstreamDuration: REQUEST_DURATION_BUCKETS,
      upstreamTimeToHeaders: TIME_TO_FIRST_TOKEN_BUCKETS,
      upstreamTimeToFirstChunk: TIME_TO_FIRST_TOKEN_BUCKETS,
      upstreamTimePerOutputChunk: INTER_TOKEN_LATENCY_BUCKETS,
      gatewayOverhead: GATEWAY_OVERHEAD_BUCKETS,
    }),
  ],
};
