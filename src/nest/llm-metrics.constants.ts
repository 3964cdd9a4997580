/** Metadata key under which `@TrackLlm()` stores the endpoint label value. */
export const TRACK_LLM_METADATA = 'llm_metrics:endpoint';
/** Injection token of the prom-client `Registry` the module's metrics are registered in. */
export const LLM_METRICS_REGISTRY = Symbol('LLM_METRICS_REGISTRY');
/** Injection token of the module's set-up (service, registry and what to release on shutdown). */
export const LLM_METRICS_SETUP = Symbol('LLM_METRICS_SETUP');
/** Default route of the metrics controller. */
export const DEFAULT_METRICS_PATH = '/metrics';
