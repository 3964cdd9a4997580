/** What `../shared/reference/dynamo-frontend-metrics.md` says of Dynamo's frontend metrics, for the tests. */

/** Name, type, labels and help text of every metric, as `dynamo-frontend-metrics.md` lists them. */
export const DYNAMO_FRONTEND_REFERENCE: [suffix: string, type: string, labels: string[], help: string][] = [
  ['requests_total', 'counter', ['model', 'endpoint', 'request_type', 'status', 'error_type'], 'Total number of LLM requests processed'],
  [
    'requests_started_total',
    'counter',
    ['model', 'endpoint', 'request_type'],
    'Total number of LLM requests accepted by the frontend handler',
  ],
  [
    'active_requests',
    'gauge',
    ['model'],
    'Number of requests currently being handled by the frontend, from HTTP handler entry to response completion',
  ],
  ['inflight_requests', 'gauge', ['model'], 'Number of inflight requests'],
  ['queued_requests', 'gauge', ['model'], 'Number of requests in HTTP processing queue'],
  ['disconnected_clients', 'gauge', [], 'Number of disconnected clients'],
  ['model_cancellation_total', 'counter', ['model', 'endpoint', 'request_type'], 'Total number of request cancellations'],
  ['model_rejection_total', 'counter', ['model', 'endpoint'], 'Total number of requests rejected due to resource exhaustion'],
  [
    'model_ready',
    'gauge',
    ['model'],
    'Whether the frontend can route at least one inference request for the model (1 = ready, 0 = not ready)',
  ],
  ['request_duration_seconds', 'histogram', ['model'], 'Duration of LLM requests'],
  ['time_to_first_token_seconds', 'histogram', ['model'], 'Time to first token in seconds'],
  ['inter_token_latency_seconds', 'histogram', ['model'], 'Inter-token latency in seconds'],
  ['input_sequence_tokens', 'histogram', ['model'], 'Input sequence length in tokens'],
  ['output_sequence_tokens', 'histogram', ['model'], 'Output sequence length in tokens'],
  ['output_tokens_total', 'counter', ['model'], 'Total number of output tokens generated (updates in real-time)'],
  ['cached_tokens', 'histogram', ['model'], 'Number of cached tokens (prefix cache hits) per request'],
  [
    'embedding_latency_seconds',
    'histogram',
    ['model'],
    'End-to-end latency of /v1/embeddings requests, in seconds. Distinct from request_duration_seconds so the bucket range can cover sub-second pooling-model inference.',
  ],
];

/** The `le` values of each histogram (the reference's "Buckets (as exposed)"), `+Inf` left out. */
export const DYNAMO_FRONTEND_LE: Record<string, string> = {
  request_duration_seconds: '0, 2, 4, 8, 16, 32, 64, 130, 260, 510',
  time_to_first_token_seconds: '0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1, 2.2, 4.7, 10, 22, 48, 100, 220, 480',
  inter_token_latency_seconds: '0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2',
  input_sequence_tokens: '0, 100, 210, 430, 870, 1800, 3600, 7400, 15000, 31000, 63000, 130000',
  cached_tokens: '0, 100, 210, 430, 870, 1800, 3600, 7400, 15000, 31000, 63000, 130000',
  output_sequence_tokens: '0, 100, 210, 430, 880, 1800, 3700, 7600, 16000, 32000',
  embedding_latency_seconds: '0, 0.002, 0.0041, 0.0084, 0.017, 0.035, 0.07, 0.14, 0.29, 0.59, 1.2, 2.4, 4.9, 10',
};
