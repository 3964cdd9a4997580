import type { MetricSpec } from './schema.js';

/**
 * The metrics of the service-level objectives (the `slo` option), last in
 * both schemas, under the same names: counted exactly at each target, where
 * a histogram can only interpolate between its buckets.
 */
export const SLO_METRICS: readonly MetricSpec[] = [
  {
    rule: 'sloRequests',
    suffix: 'slo_requests_total',
    type: 'counter',
    help: 'Total number of LLM requests by whether they met each service-level objective',
    labels: ['model', 'endpoint', 'slo', 'outcome'],
    slo: true,
  },
  {
    rule: 'goodputTokens',
    suffix: 'goodput_tokens_total',
    type: 'counter',
    help: 'Total number of output tokens of LLM requests that met every service-level objective',
    labels: ['model'],
    slo: true,
  },
];
