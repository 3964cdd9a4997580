export {
  Endpoint,
  type EndpointName,
  ErrorType,
  errorTypeForStatus,
  type KnownEndpoint,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  REQUEST_TYPE_UNARY,
  RequestType,
  Status,
  UNKNOWN_MODEL,
} from './core/labels.js';
export {
  DEFAULT_PREFIX,
  INPUT_SEQUENCE_TOKENS_BUCKETS,
  INTER_TOKEN_LATENCY_BUCKETS,
  OUTPUT_SEQUENCE_TOKENS_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  type StreamingBuckets,
  TIME_TO_FIRST_TOKEN_BUCKETS,
} from './core/metric-definitions.js';
export { type PayloadSummary, SseEventReader, type TokenUsage, summarizeEventData, summarizePayload } from './core/openai-chunk.inspector.js';
export { DEFAULT_MAX_MODELS, MAX_MODEL_NAME_LENGTH, type ModelAllowList, ModelLabelPolicy } from './core/model-label.policy.js';
export { type Clock, InflightGuard } from './core/inflight.guard.js';
export { LlmMetricsService, type LlmMetricsServiceOptions } from './core/llm-metrics.service.js';
export { LlmMetricsModule } from './nest/llm-metrics.module.js';
export { MODULE_OPTIONS_TOKEN as LLM_METRICS_OPTIONS } from './nest/llm-metrics.module-definition.js';
export { LLM_METRICS_REGISTRY, TRACK_LLM_METADATA } from './nest/llm-metrics.constants.js';
export type {
  LlmHttpRequest,
  LlmMetricsModuleExtras,
  LlmMetricsModuleOptions,
  LlmMetricsOptionsFactory,
} from './nest/llm-metrics.options.js';
export { LlmMetricsInterceptor } from './nest/llm-metrics.interceptor.js';
export { LlmTrackingGuard } from './nest/llm-tracking.guard.js';
export { TrackLlm } from './nest/track-llm.decorator.js';
export { LlmRequestMetrics, RequestMetrics } from './nest/llm-request-metrics.js';
