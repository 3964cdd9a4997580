import { ErrorType } from '../labels/label-values.js';
import type { LogBuckets } from './buckets.js';
import { answerMetrics } from './answer.schema.js';
import { SLO_METRICS } from './slo.schema.js';
import { gatewayMetrics } from './gateway.schema.js';
import { ERROR_TYPES_0_2_1 } from './dynamo-0.2.1.schema.js';
import type { HistogramKey, LabelName, Schema } from './schema.js';

/** Dynamo's frontend log buckets: `{ min, max, count }` of each histogram. */
export const DYNAMO_FRONTEND_BUCKETS: Readonly<Record<HistogramKey, LogBuckets>> = {
  requestDuration: { min: 1, max: 512, count: 10 },
  timeToFirstToken: { min: 0.001, max: 480, count: 18 },
  timeToFirstContentToken: { min: 0.001, max: 480, count: 18 },
  interTokenLatency: { min: 0.001, max: 2, count: 13 },
  inputSequenceTokens: { min: 50, max: 128000, count: 12 },
  outputSequenceTokens: { min: 50, max: 32000, count: 10 },
  cachedTokens: { min: 50, max: 128000, count: 12 },
  embeddingLatency: { min: 0.001, max: 10, count: 14 },
  upstreamDuration: { min: 1, max: 512, count: 10 },
  upstreamTimeToHeaders: { min: 0.001, max: 480, count: 18 },
  upstreamTimeToFirstChunk: { min: 0.001, max: 480, count: 18 },
  upstreamTimePerOutputChunk: { min: 0.001, max: 2, count: 13 },
  gatewayOverhead: { min: 0.0001, max: 10, count: 16 },
};

/** The suffix of Dynamo's frontend's `DYN_METRICS_<suffix>_{MIN,MAX,COUNT}` variables for each histogram it has (the gateway's have none). */
export const BUCKETS_ENV_NAMES: Readonly<Partial<Record<HistogramKey, string>>> = {
  requestDuration: 'REQUEST_DURATION',
  timeToFirstToken: 'TTFT',
  timeToFirstContentToken: 'TTFT',
  interTokenLatency: 'ITL',
  inputSequenceTokens: 'INPUT_SEQUENCE',
  outputSequenceTokens: 'OUTPUT_SEQUENCE',
  cachedTokens: 'INPUT_SEQUENCE',
  embeddingLatency: 'EMBEDDING_LATENCY',
};

const MODEL: readonly LabelName[] = ['model'];
const STARTED: readonly LabelName[] = ['model', 'endpoint', 'request_type'];

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
    ...answerMetrics(DYNAMO_FRONTEND_BUCKETS.timeToFirstContentToken, 'cachedPromptTokens'),
    ...SLO_METRICS,
    ...gatewayMetrics(DYNAMO_FRONTEND_BUCKETS),
  ],
};
