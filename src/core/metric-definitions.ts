/** Metric names, help texts and buckets of the 0.2.1 schema: public API, do not change. */

export const DEFAULT_PREFIX = 'nv_llm';

/** Buckets (seconds) of `{prefix}_http_service_request_duration_seconds`, as in Dynamo 0.2.1. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];

export const REQUESTS_TOTAL_HELP = 'Total number of LLM requests processed';
export const INFLIGHT_REQUESTS_HELP = 'Number of inflight requests';
export const REQUEST_DURATION_HELP = 'Duration of LLM requests';

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The full names of the metrics for `prefix`. */
export function metricNames(prefix: string) {
  return {
    requestsTotal: `${prefix}_http_service_requests_total`,
    inflightRequests: `${prefix}_http_service_inflight_requests`,
    requestDuration: `${prefix}_http_service_request_duration_seconds`,
  };
}

/**
 * Returns `prefix` if it can start a Prometheus metric name.
 * @throws TypeError naming the bad prefix otherwise.
 */
export function assertMetricPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new TypeError(
      `nestjs-llm-metrics: invalid metric prefix ${JSON.stringify(prefix) ?? String(prefix)}: ` +
        `a prefix must match ${METRIC_PREFIX}`,
    );
  }
  return prefix;
}
