import { describeValue } from './describe-value.js';

/** Metric names, help texts and buckets: public API, do not change. */

export const DEFAULT_PREFIX = 'nv_llm';

/** Buckets (seconds) of `{prefix}_http_service_request_duration_seconds`, as in Dynamo 0.2.1. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];

export const REQUESTS_TOTAL_HELP = 'Total number of LLM requests processed';
export const INFLIGHT_REQUESTS_HELP = 'Number of inflight requests';
export const REQUEST_DURATION_HELP = 'Duration of LLM requests';

/** Default buckets (seconds) of `{prefix}_http_service_time_to_first_token_seconds`. */
export const TIME_TO_FIRST_TOKEN_BUCKETS: readonly number[] = [
  0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 240, 480,
];
/** Default buckets (seconds) of `{prefix}_http_service_inter_token_latency_seconds`. */
export const INTER_TOKEN_LATENCY_BUCKETS: readonly number[] = [
  0, 0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2,
];
/** Default buckets (tokens) of `{prefix}_http_service_input_sequence_tokens`. */
export const INPUT_SEQUENCE_TOKENS_BUCKETS: readonly number[] = [
  0, 50, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000,
];
/** Default buckets (tokens) of `{prefix}_http_service_output_sequence_tokens`. */
export const OUTPUT_SEQUENCE_TOKENS_BUCKETS: readonly number[] = [
  0, 50, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000,
];

export const TIME_TO_FIRST_TOKEN_HELP = 'Time to first token in seconds';
export const INTER_TOKEN_LATENCY_HELP = 'Inter-token latency in seconds';
export const INPUT_SEQUENCE_TOKENS_HELP = 'Input sequence length in tokens';
export const OUTPUT_SEQUENCE_TOKENS_HELP = 'Output sequence length in tokens';

/** Buckets of the streaming histograms, each optional (the defaults above otherwise). */
export interface StreamingBuckets {
  timeToFirstToken?: readonly number[];
  interTokenLatency?: readonly number[];
  inputSequenceTokens?: readonly number[];
  outputSequenceTokens?: readonly number[];
}

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The full names of the metrics for `prefix`. */
export function metricNames(prefix: string) {
  return {
    requestsTotal: `${prefix}_http_service_requests_total`,
    inflightRequests: `${prefix}_http_service_inflight_requests`,
    requestDuration: `${prefix}_http_service_request_duration_seconds`,
    timeToFirstToken: `${prefix}_http_service_time_to_first_token_seconds`,
    interTokenLatency: `${prefix}_http_service_inter_token_latency_seconds`,
    inputSequenceTokens: `${prefix}_http_service_input_sequence_tokens`,
    outputSequenceTokens: `${prefix}_http_service_output_sequence_tokens`,
  };
}

/**
 * Returns `prefix` if it can start a Prometheus metric name.
 * @throws TypeError naming the bad prefix otherwise.
 */
export function assertMetricPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new TypeError(
      `nestjs-llm-metrics: invalid metric prefix ${describeValue(prefix)}: ` +
        `a prefix must match ${METRIC_PREFIX}`,
    );
  }
  return prefix;
}

/**
 * Returns `buckets` if it is a non-empty array of finite, strictly increasing numbers.
 * @throws TypeError naming `option` and the bad value otherwise.
 */
export function assertBuckets(option: string, buckets: unknown): readonly number[] {
  const valid =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every(
      (bound, i) => typeof bound === 'number' && Number.isFinite(bound) && (i === 0 || bound > (buckets[i - 1] as number)),
    );
  if (!valid) {
    throw new TypeError(
      `nestjs-llm-metrics: option "${option}" must be a non-empty array of finite, strictly increasing numbers, ` +
        `got ${describeValue(buckets)}`,
    );
  }
  return buckets;
}
