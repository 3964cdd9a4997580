export {
  Endpoint,
  type EndpointName,
  ErrorType,
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
  DYNAMO_FRONTEND_BUCKETS,
  type HistogramBuckets,
  type HistogramKey,
  INPUT_SEQUENCE_TOKENS_BUCKETS,
  INTER_TOKEN_LATENCY_BUCKETS,
  OUTPUT_SEQUENCE_TOKENS_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  type SchemaName,
  type StreamingBuckets,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  errorTypeForStatus,
} from './core/schemas.js';
export { type BucketsOption, type LogBuckets, logBuckets } from './core/buckets.js';
export { type PayloadSummary, type TokenUsage, summarizePayload } from './core/openai-payload.js';
export { SseEventReader } from './core/sse-event-reader.js';
export { renderOpenMetrics } from './core/openmetrics.js';
export {
  ExpositionBuffers,
  type ExpositionFormat,
  ExpositionWriter,
  type TextFormat,
  expositionFormatFor,
} from './core/exposition-format.js';
export { type RenderRegistryOptions, renderRegistry, renderRegistryProtobuf } from './core/registry-exposition.js';
export { RenderSlices } from './core/series-exposition.js';
export { PROTOBUF_EXPOSITION_CONTENT_TYPE, ProtobufExpositionWriter, renderProtobuf } from './core/protobuf-exposition.js';
export type { NativeHistogramOptions } from './core/native-histogram.js';
export { DEFAULT_MAX_MODELS, MAX_MODEL_NAME_LENGTH, type ModelAllowList, ModelLabelPolicy } from './core/model-label.policy.js';
export { type Clock, InflightGuard } from './core/inflight-request.js';
export {
  DEFAULT_LABEL_TTL_MS,
  DEFAULT_MAX_LABEL_VALUES,
  MAX_LABEL_VALUE_LENGTH,
  OTHER_LABEL_VALUE,
  type RequestLabelSpec,
} from './core/request-label.policy.js';
export { LlmMetricsService, type LlmMetricsServiceOptions, type RenderOptions } from './core/llm-metrics.service.js';
export { LLM_METRICS_REGISTRY, LlmMetricsModule, MODULE_OPTIONS_TOKEN as LLM_METRICS_OPTIONS } from './nest/llm-metrics.module.js';
export type {
  LlmHttpRequest,
  LlmRequestLabel,
  LlmMetricsModuleExtras,
  LlmMetricsModuleOptions,
  LlmMetricsOptionsFactory,
} from './nest/llm-metrics.options.js';
export { LlmMetricsInterceptor, TRACK_LLM_METADATA } from './nest/llm-metrics.interceptor.js';
export { LlmMetricsController } from './nest/metrics.controller.js';
export { TrackLlm } from './nest/track-llm.decorator.js';
export { LlmRequestMetrics, RequestMetrics } from './nest/request-metrics.decorator.js';
