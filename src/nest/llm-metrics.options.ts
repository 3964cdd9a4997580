import type { CanActivate, Type } from '@nestjs/common';
import type { DefaultMetricsCollectorConfiguration, RegistryContentType, Registry } from 'prom-client';
import type { RequestLabelSpec } from '../labels/request-label.policy.js';
import type { MeterProviderLike } from '../opentelemetry/gen-ai-metrics.js';
import { assertKnownKeys, invalidOption } from '../options/option-error.js';
import { type LlmMetricsServiceOptions, OPEN_TELEMETRY_OPTION_NAMES, resolveServiceOptions } from '../options/service-options.js';

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

/** A request label of the `labels` option: read from the framework's request object. */
export type LlmRequestLabel = RequestLabelSpec<LlmHttpRequest>;

/**
 * Options of `LlmMetricsModule.forRoot()` (and of the `forRootAsync()`
 * factory): those of `LlmMetricsService`, checked the same way, and those of
 * an app.
 */
export interface LlmMetricsModuleOptions extends Omit<
  LlmMetricsServiceOptions,
  'openTelemetry' | 'labels' | 'env' | 'clock' | 'onRecordError' | 'onWarning'
> {
  /** Metric name prefix (default: the schema's, `'nv_llm'` or `'dynamo_frontend'`). */
  prefix?: string;
  /** Registry to register into (default: a new `Registry` owned by the module). Pass prom-client's `register` to share the global one. */
  registry?: Registry<RegistryContentType>;
  /** Also collect Node.js process metrics into the registry: `true`, or prom-client's configuration for them (default `false`). */
  defaultMetrics?: boolean | Omit<DefaultMetricsCollectorConfiguration<RegistryContentType>, 'register'>;
  /** Labels added to every series of the registry, e.g. `{ instance: 'a' }`. */
  defaultLabels?: Record<string, string>;
  /**
   * Also record the OpenTelemetry GenAI semantic-convention metrics of each
   * request: `true` (the global MeterProvider, `gen_ai.provider.name` `openai`)
   * or `{ meterProvider?, providerName? }`. Needs `@opentelemetry/api`, which
   * is loaded only then.
   */
  openTelemetry?: boolean | { meterProvider?: MeterProviderLike; providerName?: string };
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
  /**
   * Give each unary answer of a tracked route a `Server-Timing` header (default
   * `false`): `total` (ms from the interceptor to the answer's head) and
   * `handler` (ms to the route's answer). A stream gets none: its times are not
   * known when its head goes out.
   */
  serverTiming?: boolean;
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

/** The name of every option an import takes: a typo among them fails at start-up, `forRootAsync`'s factory's too (TypeScript keeps this list and the interfaces in step). */
const MODULE_OPTIONS: Readonly<Record<keyof (LlmMetricsModuleOptions & LlmMetricsModuleExtras), true>> = {
  schema: true,
  prefix: true,
  registry: true,
  defaultMetrics: true,
  defaultLabels: true,
  models: true,
  maxModels: true,
  errorType: true,
  streamingMetrics: true,
  answerMetrics: true,
  buckets: true,
  bucketsFromEnv: true,
  modelReady: true,
  openTelemetry: true,
  exemplars: true,
  nativeHistograms: true,
  modelFrom: true,
  streamFrom: true,
  serverTiming: true,
  labels: true,
  labelTtl: true,
  slo: true,
  sloTierFrom: true,
  upstream: true,
  prices: true,
  isGlobal: true,
  path: true,
  controller: true,
  guards: true,
};
const MODULE_OPTION_NAMES: readonly string[] = Object.keys(MODULE_OPTIONS);

/** The options of an import that go to `LlmMetricsService` as they are, apart from those of the app and of the module itself. */
export function splitModuleOptions(options: LlmMetricsModuleOptions & LlmMetricsModuleExtras): {
  prefix: string | undefined;
  service: Omit<LlmMetricsServiceOptions, 'openTelemetry'>;
} {
  const {
    prefix,
    registry,
    defaultMetrics,
    defaultLabels,
    openTelemetry,
    modelFrom,
    streamFrom,
    serverTiming,
    isGlobal,
    path,
    controller,
    guards,
    ...service
  } = options;
  return { prefix, service };
}

/**
 * Checks the module options at start-up, so that a bad one fails fast with
 * an error naming the option and its value rather than at the first request:
 * those of the service by the service's own checks, then the app's.
 * @throws TypeError naming the first invalid option and its value.
 */
export function validateModuleOptions(options: LlmMetricsModuleOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options);
  }
  assertKnownKeys(undefined, options, MODULE_OPTION_NAMES);
  const { prefix, service } = splitModuleOptions(options);
  resolveServiceOptions(prefix, service);
  const { registry, defaultMetrics, defaultLabels, openTelemetry, modelFrom, streamFrom } = options;
  for (const [option, value] of [
    ['modelFrom', modelFrom],
    ['streamFrom', streamFrom],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw invalidOption(option, 'a function (request) => value', value);
    }
  }
  if (options.serverTiming !== undefined && typeof options.serverTiming !== 'boolean') {
    throw invalidOption('serverTiming', 'a boolean', options.serverTiming);
  }
  if (registry !== undefined && (registry === null || typeof registry.registerMetric !== 'function')) {
    throw invalidOption('registry', 'a prom-client Registry', registry);
  }
  if (
    defaultMetrics !== undefined &&
    typeof defaultMetrics !== 'boolean' &&
    (typeof defaultMetrics !== 'object' || defaultMetrics === null)
  ) {
    throw invalidOption('defaultMetrics', "a boolean or prom-client's configuration of its default metrics", defaultMetrics);
  }
  if (typeof openTelemetry === 'object' && openTelemetry !== null) {
    assertKnownKeys('openTelemetry', openTelemetry, OPEN_TELEMETRY_OPTION_NAMES);
  }
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
    throw invalidOption('openTelemetry', 'true, or { meterProvider?: a MeterProvider, providerName?: a non-empty string }', openTelemetry);
  }
  if (
    defaultLabels !== undefined &&
    (defaultLabels === null || typeof defaultLabels !== 'object' || Object.values(defaultLabels).some((value) => typeof value !== 'string'))
  ) {
    throw invalidOption('defaultLabels', 'an object of string label values', defaultLabels);
  }
  const clash = Object.keys(options.labels ?? {}).find((name) => defaultLabels !== undefined && Object.hasOwn(defaultLabels, name));
  if (clash !== undefined) {
    throw invalidOption('labels', 'keyed by names other than those of defaultLabels', clash);
  }
}

/** Checks the options that shape the module definition (`path`, `controller`, `guards`). */
export function validateModuleExtras(extras: LlmMetricsModuleExtras): void {
  const { path, controller, guards } = extras;
  if (
    guards !== undefined &&
    !(Array.isArray(guards) && guards.every((guard) => typeof guard === 'function' || typeof guard?.canActivate === 'function'))
  ) {
    throw invalidOption('guards', 'an array of guard classes or instances', guards);
  }
  // As Nest's own routes: with or without its leading "/"; no query or fragment.
  if (path !== undefined && (typeof path !== 'string' || !/^\/?[^\s?#/][^\s?#]*$|^\/$/.test(path))) {
    throw invalidOption('path', 'a route path such as "/metrics" or "metrics", without spaces, "?" or "#"', path);
  }
  if (controller !== undefined && typeof controller !== 'boolean') {
    throw invalidOption('controller', 'a boolean', controller);
  }
}
