import { isAllowList } from '../labels/label-value.js';
import { type ModelAllowList } from '../labels/model-label.policy.js';
import { DEFAULT_LABEL_TTL_MS, type RequestLabelSpec } from '../labels/request-label.policy.js';
import type { MeterProviderLike } from '../opentelemetry/gen-ai-metrics.js';
import { resolveBuckets } from '../schemas/buckets.js';
import {
  ANSWER_METRICS,
  ANSWER_METRICS_BY_DEFAULT,
  type AnswerMetric,
  HISTOGRAM_KEYS,
  type HistogramBuckets,
  type HistogramKey,
  type Schema,
  type SchemaName,
} from '../schemas/schema.js';
import { SCHEMAS } from '../schemas/schemas.js';
import { NativeHistogram, type NativeHistogramOptions } from '../store/native-histogram.js';
import { assertKnownKeys, invalidOption, isObject } from './option-error.js';
import { type SloOption, SloPolicy } from './slo-options.js';
import { type PricesOption, PriceTable, type UpstreamOptions, checkUpstream } from './gateway-options.js';
import { checkLabels } from './label-options.js';

/** A monotonic clock in milliseconds. */
export type Clock = () => number;

/** Options of `LlmMetricsService` beyond its prefix: checked, each naming itself when it is wrong, by the service and by the Nest module alike. */
export interface LlmMetricsServiceOptions {
  /** The names and series: Dynamo 0.2.1's (default) or Dynamo's frontend today (`'dynamo-frontend'`). */
  schema?: SchemaName;
  /** Only these models are recorded under their own name; others as `unknown_model`. */
  models?: ModelAllowList;
  /** Cap on distinct model names recorded (default 100); further models are recorded as `unknown_model`. */
  maxModels?: number;
  /** Add the `error_type` label to `requests_total` in the 0.2.1 schema (the frontend schema always has it). */
  errorType?: boolean;
  /** Record the token metrics: time to first token, inter-token latency, lengths, output and cached tokens (default `true`). */
  streamingMetrics?: boolean;
  /**
   * The metrics read from what each answer says: `true` all, `false` none, or
   * each on its own. Default: the counters of finish reasons, tool calls,
   * reasoning and cached prompt tokens; not the time to first content token
   * histogram (as many series as time to first token's).
   */
  answerMetrics?: boolean | AnswerMetricsOptions;
  /** Buckets of the histograms: the bounds, or `{ min, max, count }` (log-spaced, as Dynamo makes them). */
  buckets?: HistogramBuckets;
  /** Read Dynamo's `DYN_METRICS_<NAME>_{MIN,MAX,COUNT}` variables for the buckets the `buckets` option leaves out. */
  bucketsFromEnv?: boolean;
  /** The environment `bucketsFromEnv` reads (default `process.env`); for tests. */
  env?: Record<string, string | undefined>;
  /** Give the latency samples of a request linked to a trace (`InflightGuard.linkTrace`) an exemplar `{ trace_id, span_id }`, in OpenMetrics scrapes. */
  exemplars?: boolean;
  /**
   * Keep native histograms (sparse exponential buckets) beside the classic buckets of the latencies:
   * `true`, or their `{ schema?, zeroThreshold?, maxBuckets? }`. Served in protobuf scrapes.
   */
  nativeHistograms?: boolean | NativeHistogramOptions;
  /** Also record the OpenTelemetry GenAI semantic-convention metrics through a Meter of this provider. */
  openTelemetry?: {
    meterProvider: MeterProviderLike;
    /** `gen_ai.provider.name` (default `'openai'`: the API's flavour). */
    providerName?: string;
  };
  /** Whether each model can be served, read at every scrape: the `model_ready` gauge of the frontend schema. */
  modelReady?: () => Iterable<readonly [model: string, ready: boolean]>;
  /**
   * Labels read from each request (a tenant, a team, …), bounded: each
   * label's `from` reads the `source` given to `createInflightGuard`.
   */
  labels?: Readonly<Record<string, RequestLabelSpec>>;
  /** Milliseconds after which a request-label value not seen is forgotten, with its series (default one hour; `Infinity`: never). */
  labelTtl?: number;
  /** Service-level targets by endpoint (and model, and tier): requests counted as meeting or missing each, exactly (`slo_requests_total`). */
  slo?: SloOption;
  /** The tier of `slo` targets a request asks for, read from the `source` of `createInflightGuard` (a header, a claim); a name no target has is ignored. */
  sloTierFrom?: (source: unknown) => unknown;
  /** Record the upstream calls made through `LlmMetricsService.fetch()` and the gateway's overhead: `true`, or `{ providers }` (the names recorded as themselves). */
  upstream?: boolean | UpstreamOptions;
  /** Prices per million tokens, by model (and provider): the cost of each request's tokens, counted exactly (`cost_total`). */
  prices?: PricesOption;
  /** Monotonic clock in milliseconds (default `performance.now`); for tests. */
  clock?: Clock;
  /**
   * Called when recording a metric throws (e.g. a broken readiness check);
   * the request carries on. Default: the error is thrown to the caller.
   */
  onRecordError?: (err: unknown) => void;
  /** Called with a warning about the configuration (e.g. invalid bucket variables). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** Each metric read from what an answer says, on or off; one left out takes its default. */
export type AnswerMetricsOptions = Partial<Record<AnswerMetric, boolean>>;

/** The name of every option of the service: a typo among them fails at start-up (TypeScript keeps this list and the interface in step). */
const SERVICE_OPTIONS: Readonly<Record<keyof LlmMetricsServiceOptions, true>> = {
  schema: true,
  models: true,
  maxModels: true,
  errorType: true,
  streamingMetrics: true,
  answerMetrics: true,
  buckets: true,
  bucketsFromEnv: true,
  env: true,
  exemplars: true,
  nativeHistograms: true,
  openTelemetry: true,
  modelReady: true,
  labels: true,
  labelTtl: true,
  slo: true,
  sloTierFrom: true,
  upstream: true,
  prices: true,
  clock: true,
  onRecordError: true,
  onWarning: true,
};
export const SERVICE_OPTION_NAMES: readonly string[] = Object.keys(SERVICE_OPTIONS);

/** The options of native histograms. */
const NATIVE_HISTOGRAM_OPTION_NAMES: readonly string[] = ['schema', 'zeroThreshold', 'maxBuckets'];
export const OPEN_TELEMETRY_OPTION_NAMES: readonly string[] = ['meterProvider', 'providerName'];

/** The options, checked, with their defaults. */
export interface ResolvedServiceOptions {
  readonly schema: Schema;
  readonly prefix: string;
  readonly models: ModelAllowList | undefined;
  readonly maxModels: number | undefined;
  /** Whether `requests_total` has the `error_type` label. */
  readonly errorType: boolean;
  readonly streamingMetrics: boolean;
  /** Each answer metric, on or off. */
  readonly answerMetrics: Readonly<Record<AnswerMetric, boolean>>;
  readonly buckets: HistogramBuckets;
  readonly bucketsFromEnv: boolean;
  readonly env: Record<string, string | undefined>;
  readonly exemplars: boolean;
  readonly nativeHistograms: NativeHistogramOptions | undefined;
  readonly openTelemetry: LlmMetricsServiceOptions['openTelemetry'];
  readonly modelReady: LlmMetricsServiceOptions['modelReady'];
  readonly labels: Readonly<Record<string, RequestLabelSpec>>;
  readonly labelTtl: number;
  readonly slo: SloPolicy | undefined;
  /** With the `upstream` option: the providers it lists, if any. */
  readonly upstream: { readonly providers: readonly string[] | undefined } | undefined;
  readonly prices: PriceTable | undefined;
  /** For each metric family of the schema, by suffix: the request labels it carries. */
  readonly carriedLabels: ReadonlyMap<string, readonly string[]>;
  readonly clock: Clock | undefined;
  readonly onRecordError: ((err: unknown) => void) | undefined;
  readonly onWarning: ((message: string) => void) | undefined;
}

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
function optionalFunction<T>(option: string, value: T, expected: string): T {
  if (value !== undefined && typeof value !== 'function') {
    throw invalidOption(option, expected, value);
  }
  return value;
}

function flag(option: string, value: unknown, defaultValue: boolean): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidOption(option, 'a boolean', value);
  }
  return value ?? defaultValue;
}

/** The `prefix` option: it starts every metric name. */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw invalidOption('prefix', `a metric name prefix matching ${METRIC_PREFIX}`, prefix);
  }
  return prefix;
}

/** The `schema` option: a schema's name (default `'dynamo-0.2.1'`). */
export function checkSchema(schema: unknown): Schema {
  if (schema === undefined) {
    return SCHEMAS['dynamo-0.2.1'];
  }
  if (typeof schema !== 'string' || !Object.hasOwn(SCHEMAS, schema)) {
    throw invalidOption(
      'schema',
      `one of ${Object.keys(SCHEMAS)
        .map((name) => `"${name}"`)
        .join(', ')}`,
      schema,
    );
  }
  return SCHEMAS[schema as SchemaName];
}

function checkBuckets(buckets: unknown): HistogramBuckets {
  if (buckets === undefined) {
    return {};
  }
  if (!isObject(buckets)) {
    throw invalidOption('buckets', 'an object of bucket arrays', buckets);
  }
  for (const [key, value] of Object.entries(buckets)) {
    if (!HISTOGRAM_KEYS.includes(key as HistogramKey)) {
      throw invalidOption('buckets', `an object with the keys ${HISTOGRAM_KEYS.join(', ')}`, buckets);
    }
    if (value !== undefined) {
      resolveBuckets(`buckets.${key}`, value);
    }
  }
  return buckets as HistogramBuckets;
}

/** The `answerMetrics` option: `true` or `false` for all, or each answer metric on its own (the others at their defaults). */
function checkAnswerMetrics(option: unknown): Record<AnswerMetric, boolean> {
  if (option === undefined || typeof option === 'boolean') {
    const all = Object.fromEntries(ANSWER_METRICS.map((name) => [name, option ?? ANSWER_METRICS_BY_DEFAULT[name]]));
    return all as Record<AnswerMetric, boolean>;
  }
  if (!isObject(option)) {
    throw invalidOption('answerMetrics', `a boolean or an object of booleans { ${ANSWER_METRICS.join('?, ')}? }`, option);
  }
  assertKnownKeys('answerMetrics', option, ANSWER_METRICS);
  const each = Object.fromEntries(
    ANSWER_METRICS.map((name) => [name, flag(`answerMetrics.${name}`, option[name], ANSWER_METRICS_BY_DEFAULT[name])]),
  );
  return each as Record<AnswerMetric, boolean>;
}

/** The `nativeHistograms` option: `true` (the defaults), or the options of a `NativeHistogram`; `false` or none: no native buckets. */
function checkNativeHistograms(option: unknown): NativeHistogramOptions | undefined {
  if (option === undefined || option === false) {
    return undefined;
  }
  const options = option === true ? {} : option;
  const expected = 'true or { schema?, zeroThreshold?, maxBuckets? }';
  if (!isObject(options)) {
    throw invalidOption('nativeHistograms', expected, option);
  }
  assertKnownKeys('nativeHistograms', options, NATIVE_HISTOGRAM_OPTION_NAMES);
  try {
    new NativeHistogram(options);
  } catch (err) {
    throw new TypeError(
      `nestjs-llm-metrics: option "nativeHistograms" must be ${expected}: ${(err as Error).message.replace(/^nestjs-llm-metrics: /, '')}`,
      {
        cause: err,
      },
    );
  }
  return options as NativeHistogramOptions;
}

function checkOpenTelemetry(option: unknown): LlmMetricsServiceOptions['openTelemetry'] {
  if (option === undefined) {
    return undefined;
  }
  const { meterProvider, providerName } = isObject(option) ? option : {};
  if (isObject(option)) {
    assertKnownKeys('openTelemetry', option, OPEN_TELEMETRY_OPTION_NAMES);
  }
  if (
    !isObject(option) ||
    typeof (meterProvider as MeterProviderLike | undefined)?.getMeter !== 'function' ||
    (providerName !== undefined && (typeof providerName !== 'string' || providerName === ''))
  ) {
    throw invalidOption('openTelemetry', '{ meterProvider: a MeterProvider, providerName?: a non-empty string }', option);
  }
  return option as LlmMetricsServiceOptions['openTelemetry'];
}

/** The `labelTtl` option: milliseconds, positive (`Infinity`: never). */
function checkLabelTtl(labelTtl: unknown): number {
  if (labelTtl === undefined) {
    return DEFAULT_LABEL_TTL_MS;
  }
  if (typeof labelTtl !== 'number' || !(labelTtl > 0)) {
    throw invalidOption('labelTtl', 'a positive number of milliseconds (Infinity: values never expire)', labelTtl);
  }
  return labelTtl;
}

/**
 * Checks the options of an `LlmMetricsService` (made by hand or by the Nest
 * module, both check them here) and gives them with their defaults.
 * @throws TypeError naming the first invalid option and its value.
 */
export function resolveServiceOptions(prefix: unknown, options: LlmMetricsServiceOptions = {}): ResolvedServiceOptions {
  if (!isObject(options as unknown)) {
    throw invalidOption('options', 'an object', options);
  }
  assertKnownKeys(undefined, options, SERVICE_OPTION_NAMES);
  const schema = checkSchema(options.schema);
  const { maxModels, models } = options;
  if (maxModels !== undefined && !(Number.isSafeInteger(maxModels) && maxModels >= 1)) {
    throw invalidOption('maxModels', 'a positive integer', maxModels);
  }
  if (models !== undefined && !isAllowList(models)) {
    throw invalidOption('models', 'an array of model names or a function (model) => boolean', models);
  }
  if (options.env !== undefined && !isObject(options.env as unknown)) {
    throw invalidOption('env', 'an object of environment variables', options.env);
  }
  return {
    schema,
    prefix: checkPrefix(prefix ?? schema.defaultPrefix),
    models,
    maxModels,
    errorType: schema.errorTypeLabel === 'always' || flag('errorType', options.errorType, false),
    streamingMetrics: flag('streamingMetrics', options.streamingMetrics, true),
    answerMetrics: checkAnswerMetrics(options.answerMetrics),
    buckets: checkBuckets(options.buckets),
    bucketsFromEnv: flag('bucketsFromEnv', options.bucketsFromEnv, false),
    env: options.env ?? process.env,
    exemplars: flag('exemplars', options.exemplars, false),
    nativeHistograms: checkNativeHistograms(options.nativeHistograms),
    openTelemetry: checkOpenTelemetry(options.openTelemetry),
    modelReady: optionalFunction('modelReady', options.modelReady, 'a function () => Iterable<[model, ready]>'),
    labels: options.labels ?? {},
    carriedLabels: checkLabels(options.labels, schema),
    labelTtl: checkLabelTtl(options.labelTtl),
    slo: SloPolicy.of(options.slo, optionalFunction('sloTierFrom', options.sloTierFrom, 'a function (request) => tier')),
    upstream: checkUpstream(options.upstream),
    prices: PriceTable.of(options.prices),
    clock: optionalFunction('clock', options.clock, 'a function () => milliseconds'),
    onRecordError: optionalFunction('onRecordError', options.onRecordError, 'a function (error) => void'),
    onWarning: optionalFunction('onWarning', options.onWarning, 'a function (message) => void'),
  };
}
