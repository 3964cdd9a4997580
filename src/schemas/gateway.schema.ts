import type { BucketsOption } from './buckets.js';
import type { HistogramKey, LabelName, MetricSpec } from './schema.js';

/** The buckets of the gateway's histograms, by key. */
export type GatewayBuckets = Readonly<
  Record<
    Extract<
      HistogramKey,
      'upstreamDuration' | 'upstreamTimeToHeaders' | 'upstreamTimeToFirstChunk' | 'upstreamTimePerOutputChunk' | 'gatewayOverhead'
    >,
    BucketsOption
  >
>;

const UPSTREAM: readonly LabelName[] = ['model', 'provider'];

/**
 * The metrics of a gateway, last in both schemas under the same names: its
 * upstream calls (the `upstream` option; `model` is the model the call
 * asked for, `provider` the one its `fetch()` was made for), the time it
 * spent on its own, and what the tokens cost (the `prices` option).
 */
export function gatewayMetrics(buckets: GatewayBuckets): MetricSpec[] {
  const histogram = (
    rule: Extract<MetricSpec, { type: 'histogram' }>['rule'],
    key: keyof GatewayBuckets,
    suffix: string,
    help: string,
    labels: readonly LabelName[] = UPSTREAM,
  ): MetricSpec => ({ rule, suffix, type: 'histogram', help, labels, buckets: { key, defaults: buckets[key] }, gateway: 'upstream' });
  return [
    {
      rule: 'upstreamRequests',
      suffix: 'upstream_requests_total',
      type: 'counter',
      help: 'Total number of upstream LLM calls, by status',
      labels: ['model', 'provider', 'status', 'error_type'],
      gateway: 'upstream',
    },
    {
      rule: 'upstreamRetries',
      suffix: 'upstream_retries_total',
      type: 'counter',
      help: 'Total number of upstream LLM calls that retried an earlier attempt',
      labels: UPSTREAM,
      gateway: 'upstream',
    },
    histogram(
      'upstreamDuration',
      'upstreamDuration',
      'upstream_request_duration_seconds',
      'Duration of upstream LLM calls, to the end of their response body',
    ),
    histogram(
      'upstreamTimeToHeaders',
      'upstreamTimeToHeaders',
      'upstream_time_to_headers_seconds',
      'Time from the start of upstream LLM calls to their response headers',
    ),
    histogram(
      'upstreamTimeToFirstChunk',
      'upstreamTimeToFirstChunk',
      'upstream_time_to_first_chunk_seconds',
      'Time from the start of streamed upstream LLM calls to their first output chunk',
    ),
    histogram(
      'upstreamTimePerOutputChunk',
      'upstreamTimePerOutputChunk',
      'upstream_time_per_output_chunk_seconds',
      'Time between the output chunks of streamed upstream LLM calls',
    ),
    histogram(
      'gatewayOverhead',
      'gatewayOverhead',
      'gateway_overhead_seconds',
      'Time of LLM requests that called upstream not spent waiting on an upstream call',
      ['model'],
    ),
    {
      rule: 'rateLimitRemaining',
      suffix: 'upstream_rate_limit_remaining',
      type: 'gauge',
      help: 'Remaining upstream rate limit, as the provider last reported it (x-ratelimit-remaining-requests, -tokens)',
      labels: ['model', 'provider', 'limit'],
      gateway: 'upstream',
    },
    {
      rule: 'rateLimitReset',
      suffix: 'upstream_rate_limit_reset_seconds',
      type: 'gauge',
      help: 'Seconds until the upstream rate limit resets, as the provider last reported it (x-ratelimit-reset-requests, -tokens)',
      labels: ['model', 'provider', 'limit'],
      gateway: 'upstream',
    },
    {
      rule: 'cost',
      suffix: 'cost_total',
      type: 'counter',
      help: 'Total cost of the tokens of LLM requests, at the prices of the prices option',
      labels: ['model', 'provider', 'currency'],
      gateway: 'prices',
    },
    {
      rule: 'pricedTokens',
      suffix: 'priced_tokens_total',
      type: 'counter',
      help: 'Total number of tokens counted in cost_total, by token type',
      labels: ['model', 'provider', 'token_type'],
      gateway: 'prices',
    },
    {
      rule: 'unpricedTokens',
      suffix: 'unpriced_tokens_total',
      type: 'counter',
      help: 'Total number of tokens not counted in cost_total: their model has no price, or their stream reported no usage',
      labels: ['model', 'provider', 'token_type'],
      gateway: 'prices',
    },
    {
      rule: 'prices',
      suffix: 'price_per_million_tokens',
      type: 'gauge',
      help: 'Price per million tokens that cost_total counts, by token type',
      labels: ['model', 'provider', 'currency', 'token_type'],
      gateway: 'prices',
    },
  ];
}
