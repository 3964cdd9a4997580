// The public API: what users call. Anything not exported here is internal (docs/api.md lists every export; a test keeps the two in step).

// The Nest module, its decorators, interceptor and route.
export { LLM_METRICS_REGISTRY, LlmMetricsModule, MODULE_OPTIONS_TOKEN as LLM_METRICS_OPTIONS } from './nest/llm-metrics.module.js';
export type {
  LlmHttpRequest,
  LlmRequestLabel,
  LlmMetricsModuleExtras,
  LlmMetricsModuleOptions,
  LlmMetricsOptionsFactory,
} from './nest/llm-metrics.options.js';
export { TrackLlm } from './nest/track-llm.decorator.js';
export { LlmRequestMetrics, RequestMetrics } from './nest/request-metrics.decorator.js';
export { LlmMetricsInterceptor, TRACK_LLM_METADATA } from './nest/llm-metrics.interceptor.js';
export { LlmMetricsController } from './nest/metrics.controller.js';

// The framework-free service and its guard.
export { LlmMetricsService } from './recording/llm-metrics.service.js';
export { InflightGuard } from './recording/inflight-guard.js';
export type { AnswerMetricsOptions, Clock, LlmMetricsServiceOptions } from './options/service-options.js';
export type { EndpointSloTargets, SloOption, SloTargets } from './options/slo-options.js';
export type { PricesOption, TokenPrices, TokenType, UpstreamOptions } from './options/gateway-options.js';
export type { Fetch, UpstreamFetchOptions } from './gateway/instrumented-fetch.js';

// Label values and the label rules.
export {
  Endpoint,
  type EndpointName,
  ErrorType,
  FinishReason,
  type KnownEndpoint,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  REQUEST_TYPE_UNARY,
  RequestType,
  SloObjective,
  SloOutcome,
  Status,
  ToolCallOutcome,
  UNKNOWN_MODEL,
} from './labels/label-values.js';
export { DEFAULT_MAX_PROVIDERS, LOCAL_PROVIDER, OTHER_PROVIDER } from './labels/provider-label.policy.js';
export { DEFAULT_MAX_MODELS, MAX_MODEL_NAME_LENGTH, type ModelAllowList, ModelLabelPolicy } from './labels/model-label.policy.js';
export {
  DEFAULT_LABEL_TTL_MS,
  DEFAULT_MAX_LABEL_VALUES,
  MAX_LABEL_VALUE_LENGTH,
  OTHER_LABEL_VALUE,
  type RequestLabelSpec,
} from './labels/request-label.policy.js';

// The schemas and their buckets.
export type { AnswerMetric, HistogramBuckets, HistogramKey, SchemaName, StreamingBuckets } from './schemas/schema.js';
export {
  DEFAULT_PREFIX,
  GATEWAY_OVERHEAD_BUCKETS,
  INPUT_SEQUENCE_TOKENS_BUCKETS,
  INTER_TOKEN_LATENCY_BUCKETS,
  OUTPUT_SEQUENCE_TOKENS_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
} from './schemas/dynamo-0.2.1.schema.js';
export { DYNAMO_FRONTEND_BUCKETS } from './schemas/dynamo-frontend.schema.js';
export { errorTypeForStatus } from './schemas/schemas.js';
export { type BucketsOption, type LogBuckets, logBuckets } from './schemas/buckets.js';
export type { NativeHistogramOptions } from './store/native-histogram.js';
export type { TokenUsage } from './openai/openai-payload.js';

// The Prometheus rules of the metrics (`npx nestjs-llm-metrics rules`).
export {
  ATTAINMENT_WINDOWS,
  type PrometheusRule,
  type PrometheusRuleFile,
  type PrometheusRulesOptions,
  prometheusRules,
} from './mixin/prometheus-rules.js';

// Serving the metrics yourself (`controller: false`).
export { type ExpositionFormat, PROTOBUF_EXPOSITION_CONTENT_TYPE, expositionFormatFor } from './exposition/format-negotiation.js';
export type { TextFormat } from './exposition/text-format.js';
export { type RenderRegistryOptions, renderRegistry, renderRegistryProtobuf } from './exposition/registry-exposition.js';
export { renderOpenMetrics } from './exposition/openmetrics.js';
export { renderProtobuf } from './exposition/protobuf-renderer.js';
