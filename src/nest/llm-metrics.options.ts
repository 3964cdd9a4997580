import type { CanActivate, Type } from '@nestjs/common';
import type { DefaultMetricsCollectorConfiguration, RegistryContentType, Registry } from 'prom-client';
import { describeValue } from '../core/describe-value.js';
import { resolveBuckets } from '../core/buckets.js';
import { HISTOGRAM_KEYS, type HistogramBuckets, type HistogramKey, SCHEMAS, type SchemaName, assertMetricPrefix } from '../core/schemas.js';
import type { MeterProviderLike } from '../core/gen-ai-metrics.js';
import type { ModelAllowList } from '../core/model-label.policy.js';
import { type NativeHistogramOptions, resolveNativeHistogramOptions } from '../core/native-histogram.js';
import { type RequestLabelSpec, assertLabelTtl, resolveRequestLabels } from '../core/request-label.policy.js';

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
  /** The names and series: Dynamo 0.2.1's (default) or Dynamo's frontend today (`'dynamo-frontend'`). */
  schema?: SchemaName;
  /** Metric name prefix (default: the schema's, `'nv_llm'` or `'dynamo_frontend'`). */
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
  /** Add the `error_type` label to `requests_total` in the 0.2.1 schema (default `false`: the 0.2.1 labels exactly; the frontend schema always has it). */
  errorType?: boolean;
  /** Record the token metrics: time to first token, inter-token latency, lengths, output and cached tokens (default `true`). */
  streamingMetrics?: boolean;
  /** Buckets of the histograms: finite, strictly increasing bounds, or `{ min, max, count }` for Dynamo's log-spaced ones (the schema's defaults otherwise). */
  buckets?: HistogramBuckets;
  /** Read Dynamo's `DYN_METRICS_<NAME>_{MIN,MAX,COUNT}` variables for the buckets `buckets` leaves out (invalid ones: the defaults, and a warning). */
  bucketsFromEnv?: boolean;
  /** Whether each model can be served, read at every scrape: the `model_ready` gauge of the `dynamo-frontend` schema. */
  modelReady?: () => Iterable<readonly [model: string, ready: boolean]>;
  /**
   * Also record the OpenTelemetry GenAI semantic-convention metrics of each
   * request: `true` (the global MeterProvider, `gen_ai.provider.name` `openai`)
   * or `{ meterProvider?, providerName? }`. Needs `@opentelemetry/api`, which
   * is loaded only then.
   */
  openTelemetry?: boolean | { meterProvider?: MeterProviderLike; providerName?: string };
  /**
   * Give the duration, time to first token and inter-token latency samples
   * an exemplar `{ trace_id, span_id }`: the active OpenTelemetry span's, else
   * the request's W3C `traceparent`. Shown in OpenMetrics scrapes only.
   */
  exemplars?: boolean;
  /**
   * Keep Prometheus native histograms (sparse exponential buckets) beside the
   * classic buckets of the request duration, time to first token and
   * inter-token latency: `true`, or `{ schema?, zeroThreshold?, maxBuckets? }`.
   * Served to scrapers that ask for the protobuf format (Prometheus started
   * with `--enable-feature=native-histograms`); text scrapes are unchanged.
   */
  nativeHistograms?: boolean | NativeHistogramOptions;
  /** Reads the model from the request (default: `request.body.model`). */
  modelFrom?: (request: LlmHttpRequest) => unknown;
  /** Reads whether the request streams (default: `request.body.stream === true`). `@Sse()` routes always stream. */
  streamFrom?: (request: LlmHttpRequest) => unknown;
  /**
   * Labels read from each request, e.g. `{ tenant: { from: (request) => request.headers?.['x-tenant'] } }`
   * or a property an auth guard set. Each is bounded: values that are missing
   * become `missing` (default `''`); refused ones, and new ones once `max`
   * (default 100) distinct values are in use, become `other`.
   */
  labels?: Record<string, LlmRequestLabel>;
  /** Milliseconds after which a request-label value not seen is forgotten, with all its series (default one hour; `Infinity`: never). */
  labelTtl?: number;
}

/** A request label of the `labels` option: read from the framework's request object. */
export type LlmRequestLabel = RequestLabelSpec<LlmHttpRequest>;

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

function invalid(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`nestjs-llm-metrics: option "${option}" must be ${expected}, got ${describeValue(value)}`);
}

/**
 * Checks the module options at start-up, so that a bad one fails fast with
 * an error naming the option and its value rather than at the first request.
 */
export function validateModuleOptions(options: LlmMetricsModuleOptions): void {
  if (options.prefix !== undefined) {
    try {
      assertMetricPrefix(options.prefix);
    } catch {
      throw invalid('prefix', 'a metric name prefix matching /^[a-zA-Z_:][a-zA-Z0-9_:]*$/', options.prefix);
    }
  }
  const { maxModels, models } = options;
  if (maxModels !== undefined && !(Number.isSafeInteger(maxModels) && maxModels >= 1)) {
    throw invalid('maxModels', 'a positive integer', maxModels);
  }
  if (
    models !== undefined &&
    typeof models !== 'function' &&
    !(Array.isArray(models) && models.every((model) => typeof model === 'string'))
  ) {
    throw invalid('models', 'an array of model names or a function (model) => boolean', models);
  }
  if (options.schema !== undefined && !Object.hasOwn(SCHEMAS, options.schema)) {
    throw invalid(
      'schema',
      `one of ${Object.keys(SCHEMAS)
        .map((name) => `"${name}"`)
        .join(', ')}`,
      options.schema,
    );
  }
  for (const option of ['modelFrom', 'streamFrom'] as const) {
    if (options[option] !== undefined && typeof options[option] !== 'function') {
      throw invalid(option, 'a function (request) => value', options[option]);
    }
  }
  if (options.modelReady !== undefined && typeof options.modelReady !== 'function') {
    throw invalid('modelReady', 'a function () => Iterable<[model, ready]>', options.modelReady);
  }
  const { registry } = options;
  if (registry !== undefined && (registry === null || typeof registry.registerMetric !== 'function')) {
    throw invalid('registry', 'a prom-client Registry', registry);
  }
  const { openTelemetry } = options;
  if (
    openTelemetry !== undefined &&
    typeof openTelemetry !== 'boolean' &&
    !(
      typeof openTelemetry === 'object' &&
      openTelemetry !== null &&
      (openTelemetry.meterProvider === undefined || typeof openTelemetry.meterProvider?.getMeter === 'function') &&
      (openTelemetry.providerName === undefined || (typeof openTelemetry.providerName === 'string' && openTelemetry.providerName !== ''))
    )
  ) {
    throw invalid('openTelemetry', 'true, or { meterProvider?: a MeterProvider, providerName?: a non-empty string }', openTelemetry);
  }
  for (const option of ['errorType', 'streamingMetrics', 'bucketsFromEnv', 'exemplars'] as const) {
    if (options[option] !== undefined && typeof options[option] !== 'boolean') {
      throw invalid(option, 'a boolean', options[option]);
    }
  }
  const { buckets } = options;
  if (buckets !== undefined) {
    if (typeof buckets !== 'object' || buckets === null) {
      throw invalid('buckets', 'an object of bucket arrays', buckets);
    }
    for (const [key, value] of Object.entries(buckets)) {
      if (!HISTOGRAM_KEYS.includes(key as HistogramKey)) {
        throw invalid('buckets', `an object with the keys ${HISTOGRAM_KEYS.join(', ')}`, buckets);
      }
      if (value !== undefined) {
        resolveBuckets(`buckets.${key}`, value);
      }
    }
  }
  const { defaultLabels } = options;
  if (
    defaultLabels !== undefined &&
    (defaultLabels === null || typeof defaultLabels !== 'object' || Object.values(defaultLabels).some((value) => typeof value !== 'string'))
  ) {
    throw invalid('defaultLabels', 'an object of string label values', defaultLabels);
  }
  const { labels } = options;
  if (labels !== undefined) {
    resolveRequestLabels(labels, SCHEMAS[options.schema ?? 'dynamo-0.2.1']);
    const clash = Object.keys(labels).find((name) => defaultLabels !== undefined && Object.hasOwn(defaultLabels, name));
    if (clash !== undefined) {
      throw invalid('labels', 'keyed by names other than those of defaultLabels', clash);
    }
  }
  if (options.labelTtl !== undefined) {
    assertLabelTtl(options.labelTtl);
  }
  resolveNativeHistogramOptions(options.nativeHistograms);
}

/** Checks the options that shape the module definition (`path`, `controller`, `guards`). */
export function validateModuleExtras(extras: LlmMetricsModuleExtras): void {
  const { path, controller, guards } = extras;
  if (
    guards !== undefined &&
    !(Array.isArray(guards) && guards.every((guard) => typeof guard === 'function' || typeof guard?.canActivate === 'function'))
  ) {
    throw invalid('guards', 'an array of guard classes or instances', guards);
  }
  if (path !== undefined && (typeof path !== 'string' || !/^\/[^\s?#]*$/.test(path))) {
    throw invalid('path', 'a route path starting with "/"', path);
  }
  if (controller !== undefined && typeof controller !== 'boolean') {
    throw invalid('controller', 'a boolean', controller);
  }
}
