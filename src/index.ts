export {
  Endpoint,
  type EndpointName,
  type KnownEndpoint,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  REQUEST_TYPE_UNARY,
  RequestType,
  Status,
  UNKNOWN_MODEL,
} from './core/labels.js';
export { DEFAULT_PREFIX, REQUEST_DURATION_BUCKETS } from './core/metric-definitions.js';
export { DEFAULT_MAX_MODELS, MAX_MODEL_NAME_LENGTH, type ModelAllowList, ModelLabelPolicy } from './core/model-label.policy.js';
export { InflightGuard } from './core/inflight.guard.js';
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
export { TrackLlm } from './nest/track-llm.decorator.js';
