import type { CanActivate, Type } from '@nestjs/common';
import type { DefaultMetricsCollectorConfiguration, RegistryContentType, Registry } from 'prom-client';
import type { StreamingBuckets } from '../core/metric-definitions.js';
import type { ModelAllowList } from '../core/model-label.policy.js';

/** What the model and stream extractors receive: the framework's request object. */
export interface LlmHttpRequest {
  /** The parsed request body, as the HTTP adapter's body parser left it. */
  body?: unknown;
  headers?: Record<string, string | string[] | undefined>;
  query?: unknown;
  params?: unknown;
  url?: string;
  method?: string;
}

/** Options of `LlmMetricsModule.forRoot()` (and of the `forRootAsync()` factory). */
export interface LlmMetricsModuleOptions {
  /** Metric name prefix (default `'nv_llm'`). */
  prefix?: string;
  /** Registry to register into (default: a new `Registry` owned by the module). Pass prom-client's `register` to share the global one. */
  registry?: Registry<RegistryContentType>;
  /** Also collect Node.js process metrics into the registry: `true`, or prom-client's configuration for them (default `false`). */
  defaultMetrics?: boolean | Omit<DefaultMetricsCollectorConfiguration<RegistryContentType>, 'register'>;
  /** Labels added to every series of the registry, e.g. `{ instance: 'a' }`. */
  defaultLabels?: Record<string, string>;
  /** Allow-list of model names; any other model is recorded as `unknown_model`. */
  models?: ModelAllowList;
  /** Cap on distinct model label values (default 100); further models are recorded as `unknown_model`. */
  maxModels?: number;
  /** Add the `error_type` label to `requests_total` (default `false`: the 0.2.1 labels exactly). */
  errorType?: boolean;
  /** Record time to first token, inter-token latency and input/output lengths (default `true`). */
  streamingMetrics?: boolean;
  /** Buckets of the streaming histograms, each finite and strictly increasing (Dynamo's defaults otherwise). */
  buckets?: StreamingBuckets;
  /** Reads the model from the request (default: `request.body.model`). */
  modelFrom?: (request: LlmHttpRequest) => unknown;
  /** Reads whether the request streams (default: `request.body.stream === true`). `@Sse()` routes always stream. */
  streamFrom?: (request: LlmHttpRequest) => unknown;
}

/** Options that shape the module itself rather than its providers. */
export interface LlmMetricsModuleExtras {
  /** Register the module globally (default `true`). */
  isGlobal?: boolean;
  /** Route of the metrics controller (default `'/metrics'`). */
  path?: string;
  /** Mount the metrics controller (default `true`); `false` leaves serving the registry to you. */
  controller?: boolean;
  /** Guards of the metrics route (classes or instances), e.g. a bearer-token check. */
  guards?: (CanActivate | Type<CanActivate>)[];
}

/** A class that builds the module options, for `forRootAsync({ useClass | useExisting })`. */
export interface LlmMetricsOptionsFactory {
  createLlmMetricsOptions(): LlmMetricsModuleOptions | Promise<LlmMetricsModuleOptions>;
}
