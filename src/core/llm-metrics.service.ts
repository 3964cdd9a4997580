import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import { logBucketsFromEnv, resolveBuckets } from './buckets.js';
import { describeValue } from './describe-value.js';
import { GenAiMetrics, METER_NAME, type MeterProviderLike } from './gen-ai-metrics.js';
import { type ExpositionWriter, type LabelSet, type TextFormat, defaultLabelsOf, withDefaultLabels } from './exposition-format.js';
import {
  type BoundHistogram,
  type Clock,
  type Count,
  type CountLabels,
  type Counts,
  type GuardContext,
  InflightGuard,
  RequestSeries,
} from './inflight-request.js';
import { type EndpointName, ErrorType, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY, type RequestType, type Status } from './labels.js';
import { ModelLabelPolicy, type ModelLabelPolicyOptions } from './model-label.policy.js';
import { type NativeHistogramOptions, resolveNativeHistogramOptions } from './native-histogram.js';
import type { LabelValues, NativeBucketsData, ProtobufExpositionWriter } from './protobuf-exposition.js';
import { ExposedFamily, HistogramSeries, RenderSlices } from './series-exposition.js';
import {
  DEFAULT_LABEL_TTL_MS,
  type RequestLabelSpec,
  RequestLabels,
  assertLabelTtl,
  resolveRequestLabels,
} from './request-label.policy.js';
import {
  BUCKETS_ENV_NAMES,
  DYNAMO_FRONTEND_BUCKETS,
  type HistogramBuckets,
  type HistogramRule,
  type MetricSpec,
  type RecordingRule,
  SCHEMAS,
  type Schema,
  type SchemaName,
  assertMetricPrefix,
} from './schemas.js';

/** Options of `LlmMetricsService` beyond its prefix. */
export interface LlmMetricsServiceOptions extends ModelLabelPolicyOptions {
  /** The names and series: Dynamo 0.2.1's (default) or Dynamo's frontend today (`'dynamo-frontend'`). */
  schema?: SchemaName;
  /** Add the `error_type` label to `requests_total` in the 0.2.1 schema (the frontend schema always has it). */
  errorType?: boolean;
  /** Record the token metrics: time to first token, inter-token latency, lengths, output and cached tokens (default `true`). */
  streamingMetrics?: boolean;
  /** Buckets of the histograms: the bounds, or `{ min, max, count }` (log-spaced, as Dynamo makes them). */
  buckets?: HistogramBuckets;
  /** Read Dynamo's `DYN_METRICS_<NAME>_{MIN,MAX,COUNT}` variables for the buckets the `buckets` option leaves out. */
  bucketsFromEnv?: boolean;
  /** The environment `bucketsFromEnv` reads (default `process.env`); for tests. */
  env?: Record<string, string | undefined>;
  /**
   * Give the request duration, time to first token and inter-token latency
   * samples of a request linked to a trace (`InflightGuard.linkTrace`) an
   * exemplar `{ trace_id, span_id }`, shown in OpenMetrics scrapes.
   */
  exemplars?: boolean;
  /**
   * Keep native histograms (sparse exponential buckets) beside the classic
   * buckets of the request duration, time to first token and inter-token
   * latency: `true`, or their `{ schema?, zeroThreshold?, maxBuckets? }`.
   * Served in protobuf scrapes (`renderProtobuf`).
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
  /** Milliseconds after which a request-label value not seen is forgotten, with its series (default one hour). */
  labelTtl?: number;
  /** Monotonic clock in milliseconds (default `performance.now`); for tests. */
  clock?: Clock;
  /**
   * Called when recording a metric throws (e.g. a broken collector); the
   * request carries on. Default: the error is thrown to the caller.
   */
  onRecordError?: (err: unknown) => void;
  /** Called with a warning about the configuration (e.g. invalid bucket variables). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * A metric of the service: its spec (none for the label overflow counter),
 * full name, labels, prom-client object, and its series as this library
 * renders them (`render`).
 */
interface BuiltMetric {
  readonly spec: MetricSpec | undefined;
  readonly name: string;
  /** The labels the schema gives the metric (and `error_type`, with the option). */
  readonly schemaLabels: readonly string[];
  /** The request labels it carries. */
  readonly requestLabels: readonly string[];
  readonly metric: AnyMetric;
  readonly exposed: ExposedFamily;
}

/** How `render` and `renderProtobuf` render. */
export interface RenderOptions {
  /** The registry's default labels (prom-client does not tell them). */
  defaultLabels?: LabelSet;
  /** How the render is cut into slices between which the event loop runs (default: of about 1 ms each). */
  slices?: RenderSlices;
}

/** Where counts go: prom-client's counter (read through the registry), or the series this library renders. */
type CountStore = 'registry' | 'exposed';

const NO_LABEL_VALUES: readonly string[] = [];

/** The labels of a count of `series` in a metric with `schemaLabels` and `requestLabels`. */
function countLabels(
  schemaLabels: readonly string[],
  requestLabels: readonly string[],
  series: RequestSeries,
  counted: CountLabels,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const label of schemaLabels) {
    labels[label] = label === 'model' ? series.model : (counted[label as keyof CountLabels] ?? '');
  }
  for (const label of requestLabels) {
    labels[label] = series.requestLabels[label];
  }
  return labels;
}

/** The counts of `series` that a counter of `rule` publishes. */
function countsOf(rule: RecordingRule, series: RequestSeries): Counts | undefined {
  switch (rule) {
    case 'requests':
      return series.requests;
    case 'requestsStarted':
      return series.started;
    case 'cancellations':
      return series.cancellations;
    case 'rejections':
      return series.rejections;
    case 'outputTokensLive':
      return series.outputTokens;
    default:
      return undefined;
  }
}

const SCHEMA_NAMES = Object.keys(SCHEMAS);

/** The latency histograms: their samples carry exemplars, and they have native buckets with the option. */
const LATENCY_RULES: ReadonlySet<HistogramRule> = new Set(['duration', 'timeToFirstToken', 'interTokenLatency']);

/**
 * The HTTP-service metrics of NVIDIA Dynamo, usable with plain prom-client
 * and no Nest, in one of its namings (`schema`): Dynamo 0.2.1's
 * `{prefix}_http_service_*` (default), or Dynamo's frontend today
 * (`dynamo_frontend_*`). A schema is a table of metrics; every request
 * runs the same code whichever it is.
 */
export class LlmMetricsService {
  readonly prefix: string;
  readonly schema: Schema;
  /** Decides the `model` label value of each request; bounds the number of series. */
  readonly modelLabels: ModelLabelPolicy;
  /** Whether `requests_total` has the `error_type` label. */
  readonly hasErrorType: boolean;

  private readonly metrics: readonly BuiltMetric[];
  private readonly histograms: {
    readonly rule: HistogramRule;
    readonly histogram: Histogram<string>;
    readonly requestLabels: readonly string[];
    readonly exposed: ExposedFamily;
  }[] = [];
  /** With `nativeHistograms`: the options of the latency histograms' native buckets. */
  private readonly nativeOptions: NativeHistogramOptions | undefined;
  /** With `exemplars`: the histograms whose samples carry a trace. */
  private readonly exemplarHistograms: Partial<Record<HistogramRule, Histogram<string>>> | undefined;
  private readonly guardContext: GuardContext;
  /** The series of each model and request-label values. */
  private readonly seriesByKey = new Map<string, RequestSeries>();
  /** With the `labels` option: the request labels, and the families that carry each. */
  private readonly requestLabels: RequestLabels | undefined;
  private readonly carriedLabels: ReadonlyMap<string, readonly string[]>;
  private readonly modelReady: LlmMetricsServiceOptions['modelReady'];

  /**
   * @param prefix the metric name prefix (default: the schema's, `nv_llm` or `dynamo_frontend`).
   * @throws TypeError naming the prefix, the schema or a buckets option if it is invalid.
   */
  constructor(prefix?: string, options: LlmMetricsServiceOptions = {}) {
    const schemaName = options.schema ?? 'dynamo-0.2.1';
    if (!Object.hasOwn(SCHEMAS, schemaName)) {
      throw new TypeError(`nestjs-llm-metrics: invalid schema ${describeValue(schemaName)}: one of ${SCHEMA_NAMES.join(', ')}`);
    }
    this.schema = SCHEMAS[schemaName];
    this.prefix = assertMetricPrefix(prefix ?? this.schema.defaultPrefix);
    this.modelLabels = new ModelLabelPolicy(options);
    this.hasErrorType = this.schema.errorTypeLabel === 'always' || options.errorType === true;
    this.exemplarHistograms = options.exemplars ? {} : undefined;
    this.nativeOptions = resolveNativeHistogramOptions(options.nativeHistograms);
    this.carriedLabels = options.labels === undefined ? new Map() : resolveRequestLabels(options.labels, this.schema);
    const requestLabels =
      options.labels && Object.keys(options.labels).length > 0
        ? new RequestLabels(options.labels, options.labelTtl === undefined ? DEFAULT_LABEL_TTL_MS : assertLabelTtl(options.labelTtl))
        : undefined;
    this.requestLabels = requestLabels;
    this.modelReady = options.modelReady;
    const genAi = options.openTelemetry
      ? new GenAiMetrics(
          options.openTelemetry.meterProvider.getMeter(METER_NAME),
          options.openTelemetry.providerName ?? 'openai',
          this.modelLabels,
          {
            duration: this.labelsCarriedBy('duration'),
            timeToFirstToken: this.labelsCarriedBy('timeToFirstToken'),
            timePerOutputToken: this.labelsCarriedBy('interTokenLatency'),
            inputTokens: [...this.labelsCarriedBy('inputTokensOnSuccess'), ...this.labelsCarriedBy('inputTokens')],
            outputTokens: [...this.labelsCarriedBy('outputTokensOnSuccess'), ...this.labelsCarriedBy('outputTokens')],
          },
        )
      : undefined;
    this.guardContext = {
      schema: this.schema,
      exemplarHistograms: this.exemplarHistograms,
      onFinished: genAi && ((request) => genAi.record(request)),
      // The module's binding: the global `performance` is a getter in Node.js.
      clock: options.clock ?? (() => performance.now()),
      open: new Set(),
      disconnects: 0,
      onRecordError:
        options.onRecordError ??
        ((err) => {
          throw err;
        }),
      onLabelsReleased: requestLabels && ((labelValues, now) => requestLabels.release(labelValues, now)),
    };
    const buckets = this.bucketsOf(options);
    const metrics = this.schema.metrics
      .filter((spec) => !(spec.tokens && options.streamingMetrics === false) && !(spec.rule === 'ready' && !options.modelReady))
      .map((spec) => this.build(spec, buckets));
    this.metrics = requestLabels ? [...metrics, this.buildOverflowCounter(requestLabels)] : metrics;
  }

  /**
   * Adds the metrics to `registry`.
   * @throws Error naming the metric if `registry` already holds one of that name (this service's included).
   */
  register(registry: Registry<RegistryContentType>): void {
    for (const { name } of this.metrics) {
      if (registry.getSingleMetric(name)) {
        throw new Error(
          `nestjs-llm-metrics: the registry already holds a metric named "${name}"; ` +
            'register each LlmMetricsService once, or give it another prefix',
        );
      }
    }
    for (const { metric } of this.metrics) {
      registry.registerMetric(metric);
    }
  }

  /** The names of the metrics, in the order `register` adds them. */
  get metricNames(): readonly string[] {
    return this.metrics.map(({ name }) => name);
  }

  /**
   * Writes the metrics to `writer` as prom-client renders them in `format`
   * with a registry's `defaultLabels`, in the order `register` adds them
   * (each family after a blank line in the text format). Each series' labels
   * are rendered once, when it is first written; a render of many series is
   * cut into `slices` (default: of about 1 ms each), between which the
   * event loop runs.
   */
  async render(writer: ExpositionWriter, format: TextFormat = 'text', options: RenderOptions = {}): Promise<void> {
    const slices = options.slices ?? new RenderSlices();
    const defaults = defaultLabelsOf(options.defaultLabels);
    for await (const built of this.refreshed(slices)) {
      if (format === 'text' && !writer.empty) {
        writer.lineFeed();
      }
      built.exposed.writeHeader(writer, format);
      for (const series of built.exposed.series()) {
        series.write(writer, format, defaults);
        if (slices.due()) {
          await slices.pause();
        }
      }
    }
  }

  /**
   * Writes the metrics to `writer` in the protobuf format, one metric at a
   * time, as `getMetricsAsJSON()` gives them with a registry's
   * `defaultLabels`, the latency histograms with their native buckets where
   * kept; in slices, as `render`.
   */
  async renderProtobuf(writer: ProtobufExpositionWriter, options: RenderOptions = {}): Promise<void> {
    const slices = options.slices ?? new RenderSlices();
    const defaults = defaultLabelsOf(options.defaultLabels);
    for await (const { name, exposed } of this.refreshed(slices)) {
      writer.family(name, exposed.help, exposed.type);
      for (const series of exposed.series()) {
        const labels = withDefaultLabels(series.labels, defaults);
        writer.metric(
          series instanceof HistogramSeries
            ? { labels, count: series.count, sum: series.sum, buckets: series.buckets(), native: series.nativeBuckets() }
            : { labels, value: series.value },
        );
        if (slices.due(16)) {
          await slices.pause();
        }
      }
      await writer.endFamily(slices);
    }
  }

  /**
   * Each metric in turn, its series as this library renders them brought up
   * to date first (a counter's counts, a gauge's measures), once the
   * request-label values idle for the TTL are forgotten.
   */
  private async *refreshed(slices: RenderSlices): AsyncGenerator<BuiltMetric> {
    this.expireLabels();
    for (const built of this.metrics) {
      const { spec, exposed } = built;
      if (spec === undefined) {
        for (const [label, total] of this.requestLabels?.overflows() ?? []) {
          exposed.sample({ label }).value = total;
        }
      } else if (spec.type === 'counter') {
        for (const series of this.seriesByKey.values()) {
          this.flushCounts(built, series, 'exposed');
          if (slices.due()) {
            await slices.pause();
          }
        }
      } else if (spec.type === 'gauge') {
        exposed.setSamples(this.gaugeValues(built));
      }
      yield built;
    }
  }

  /** Removes from `registry` the metrics `register` added to it. */
  unregister(registry: Registry<RegistryContentType>): void {
    for (const { name, metric } of this.metrics) {
      if (registry.getSingleMetric(name) === metric) {
        registry.removeSingleMetric(name);
      }
    }
  }

  /**
   * Opens the accounting of one request: counts it as started and in
   * progress now, and as finished when the guard finishes. `model` goes
   * through the model-label rules, so any client input is safe to pass.
   */
  createInflightGuard(model: unknown, endpoint: EndpointName, streaming: boolean, source?: unknown): InflightGuard {
    const requestType = streaming ? REQUEST_TYPE_STREAM : REQUEST_TYPE_UNARY;
    const labelValues = this.requestLabels?.acquire(source, this.guardContext.clock(), () => this.expireLabels()) ?? NO_LABEL_VALUES;
    return new InflightGuard(this.seriesFor(this.modelLabels.resolve(model), labelValues), endpoint, requestType, this.guardContext);
  }

  /** Hands a fault of the metrics path to `onRecordError`. */
  handleRecordError(err: unknown): void {
    this.guardContext.onRecordError(err);
  }

  /** The number of requests in flight, all models together. */
  get inflightCount(): number {
    return this.guardContext.open.size;
  }

  /**
   * Finishes every guard still open as an error of `errorType` (default
   * `unavailable`), e.g. when the app shuts down with streams in flight.
   * @returns how many there were.
   */
  finishInflight(errorType: ErrorType = ErrorType.Unavailable): number {
    const open = [...this.guardContext.open];
    for (const guard of open) {
      guard.markError(errorType);
      guard.finish();
    }
    return open.length;
  }

  /**
   * The number of requests counted for these labels; with the `error_type`
   * label, for that error type, or summed over all of them if it is not given.
   */
  async getRequestCounter(
    model: string,
    endpoint: EndpointName,
    requestType: RequestType,
    status: Status,
    errorType?: string,
  ): Promise<number> {
    const label = this.modelLabels.peek(model);
    const requests = this.metrics.find(({ spec }) => spec?.rule === 'requests');
    const { values } = await (requests?.metric as Counter<string>).get();
    let count = 0;
    for (const { labels, value } of values) {
      if (
        labels.model === label &&
        labels.endpoint === endpoint &&
        labels.request_type === requestType &&
        labels.status === status &&
        (errorType === undefined || labels.error_type === errorType)
      ) {
        count += value;
      }
    }
    return count;
  }

  /**
   * The native buckets of the series of the histogram `name` with `labels`
   * (those `getMetricsAsJSON()` gives it), with the `nativeHistograms` option;
   * for `renderProtobuf`.
   */
  nativeBuckets(name: string, labels: LabelValues): NativeBucketsData | undefined {
    return this.metrics.find((built) => built.name === name)?.exposed.nativeBuckets(labels);
  }

  /** The number of requests for `model` in flight now. */
  async getInflightCount(model: string): Promise<number> {
    const label = this.modelLabels.peek(model);
    let count = 0;
    this.seriesByKey.forEach((series) => {
      if (series.model === label) {
        count += series.inProgress;
      }
    });
    return count;
  }

  /** The series of `model` and `labelValues` (one per request label), made the first time. */
  private seriesFor(model: string, labelValues: readonly string[]): RequestSeries {
    // Label values hold no control character: the last ones of the key are theirs, whatever the model's name.
    const key = labelValues.length === 0 ? model : `${model}\u0000${labelValues.join('\u0000')}`;
    let series = this.seriesByKey.get(key);
    if (!series) {
      const requestLabels: Record<string, string> = {};
      this.requestLabels?.names.forEach((name, i) => {
        requestLabels[name] = labelValues[i];
      });
      const bound: Partial<Record<HistogramRule, BoundHistogram>> = {};
      for (const { rule, histogram, requestLabels: carried, exposed } of this.histograms) {
        const labels: Record<string, string> = { model };
        for (const name of carried) {
          labels[name] = requestLabels[name];
        }
        // Series of a histogram that does not carry a request label share its child and its own series.
        bound[rule] = { child: histogram.labels(labels), labels, exposed: exposed.histogram(labels) };
      }
      series = new RequestSeries(model, labelValues, requestLabels, this.hasErrorType, bound);
      this.seriesByKey.set(key, series);
    }
    return series;
  }

  /** The request labels the metric of `rule` carries (the first of the schema with that rule). */
  private labelsCarriedBy(rule: RecordingRule): readonly string[] {
    const spec = this.schema.metrics.find((metric) => metric.rule === rule);
    return (spec && this.carriedLabels.get(spec.suffix)) ?? NO_LABEL_VALUES;
  }

  /**
   * Forgets the request-label values idle for the TTL, and every series that
   * has one: their counts not yet scraped are handed to their counters first,
   * then the families that carry the label drop them.
   */
  private expireLabels(): void {
    const requestLabels = this.requestLabels;
    const expired = requestLabels?.expire(this.guardContext.clock());
    if (!requestLabels || !expired) {
      return;
    }
    for (const [key, series] of this.seriesByKey) {
      const evicted = requestLabels.names.filter((_, i) => expired[i].has(series.labelValues[i]));
      if (evicted.length === 0) {
        continue;
      }
      this.seriesByKey.delete(key);
      for (const built of this.metrics) {
        const { spec, requestLabels: carried, metric, exposed } = built;
        const dropped = carried.some((label) => evicted.includes(label));
        const counts = spec && countsOf(spec.rule, series);
        if (counts) {
          for (const count of counts.all()) {
            // What was counted reaches the families without the label.
            this.flushCount(built, series, count, 'registry');
            this.flushCount(built, series, count, 'exposed');
            if (dropped && count.exposed) {
              (metric as Counter<string>).remove(count.exposed.labels);
              exposed.remove(count.exposed.labels);
            }
          }
        } else if (dropped && spec?.type === 'histogram') {
          const bound = series.histograms[spec.rule];
          if (bound) {
            (metric as Histogram<string>).remove(bound.labels);
            exposed.remove(bound.labels);
          }
        }
      }
    }
  }

  /** The buckets of each histogram: the option's, else the environment's (with `bucketsFromEnv`), else the schema's. */
  private bucketsOf(options: LlmMetricsServiceOptions): HistogramBuckets {
    const buckets: HistogramBuckets = { ...options.buckets };
    if (options.bucketsFromEnv) {
      const invalid: string[] = [];
      for (const spec of this.schema.metrics) {
        const key = spec.type === 'histogram' ? spec.buckets.key : undefined;
        if (key !== undefined && buckets[key] === undefined) {
          const fromEnv = logBucketsFromEnv(options.env ?? process.env, BUCKETS_ENV_NAMES[key], DYNAMO_FRONTEND_BUCKETS[key]);
          if (fromEnv.invalid) {
            invalid.push(fromEnv.invalid);
          } else if (fromEnv.buckets) {
            buckets[key] = fromEnv.buckets;
          }
        }
      }
      if (invalid.length > 0) {
        (options.onWarning ?? ((message) => process.emitWarning(message)))(
          `nestjs-llm-metrics: invalid bucket variables, the default buckets are used instead: ${invalid.join('; ')}`,
        );
      }
    }
    return buckets;
  }

  /** The prom-client metric of `spec`, whose `collect` publishes what the requests counted, and its series as this library renders them. */
  private build(spec: MetricSpec, buckets: HistogramBuckets): BuiltMetric {
    const name = `${this.prefix}${this.schema.infix}${spec.suffix}`;
    const schemaLabels =
      spec.rule === 'requests' && this.hasErrorType && !spec.labels.includes('error_type') ? [...spec.labels, 'error_type'] : spec.labels;
    const requestLabels = this.carriedLabels.get(spec.suffix) ?? NO_LABEL_VALUES;
    const labelNames = [...schemaLabels, ...requestLabels];
    const config = { name, help: spec.help, labelNames, registers: [] };
    if (spec.type === 'histogram') {
      const {
        rule,
        buckets: { key, defaults },
      } = spec;
      const withExemplars = this.exemplarHistograms !== undefined && LATENCY_RULES.has(rule);
      const bounds = [...resolveBuckets(`buckets.${key}`, buckets[key] ?? defaults)];
      const histogram = new Histogram({
        ...config,
        buckets: bounds,
        // prom-client checks a registry's format only for those given here: it is registered later, and renders them in OpenMetrics only.
        enableExemplars: withExemplars,
      });
      const exposed = new ExposedFamily(name, spec.help, 'histogram', labelNames, {
        bounds,
        exemplars: withExemplars,
        native: LATENCY_RULES.has(rule) ? this.nativeOptions : undefined,
      });
      this.histograms.push({ rule, histogram, requestLabels, exposed });
      if (withExemplars) {
        this.exemplarHistograms![rule] = histogram;
      }
      return { spec, name, schemaLabels, requestLabels, metric: histogram, exposed };
    }
    // The collectors need the metric they belong to: set right after.
    // eslint-disable-next-line prefer-const
    let built: BuiltMetric | undefined;
    const exposed = new ExposedFamily(name, spec.help, spec.type, labelNames);
    const collect = () => {
      this.expireLabels();
      if (built?.spec?.type === 'counter') {
        this.seriesByKey.forEach((series) => this.flushCounts(built!, series, 'registry'));
      } else if (built) {
        const gauge = built.metric as Gauge<string>;
        gauge.reset();
        for (const { labels, value } of this.gaugeValues(built)) {
          gauge.set(labels, value);
        }
      }
    };
    const metric = spec.type === 'counter' ? new Counter({ ...config, collect }) : new Gauge({ ...config, collect });
    built = { spec, name, schemaLabels, requestLabels, metric, exposed };
    return built;
  }

  /** `{prefix}_label_overflow_total{label}`: the request-label values recorded as `other`, from zero for each label. */
  private buildOverflowCounter(requestLabels: RequestLabels): BuiltMetric {
    const name = `${this.prefix}_label_overflow_total`;
    const help = 'Request-label values recorded as "other": refused, or new while the cap of distinct values was full';
    const exposed = new ExposedFamily(name, help, 'counter', ['label']);
    /** What prom-client's counter has of each label's overflow. */
    const published = new Map<string, number>();
    const expireLabels = () => this.expireLabels();
    const metric = new Counter({
      name,
      help,
      labelNames: ['label'],
      registers: [],
      collect() {
        expireLabels();
        for (const [label, total] of requestLabels.overflows()) {
          this.inc({ label }, total - (published.get(label) ?? 0));
          published.set(label, total);
        }
      },
    });
    for (const label of requestLabels.names) {
      // Both list each label from the start, at 0, in the same order.
      metric.inc({ label }, 0);
      exposed.sample({ label });
    }
    return { spec: undefined, name, schemaLabels: ['label'], requestLabels: NO_LABEL_VALUES, metric, exposed };
  }

  /**
   * Hands what the counts of `series` added since the last time to `store`.
   * A count handed over for the first time goes to both, so that both list
   * its series at the same place, as prom-client lists a series where it was
   * first counted.
   */
  private flushCounts(built: BuiltMetric, series: RequestSeries, store: CountStore): void {
    const counts = built.spec && countsOf(built.spec.rule, series);
    if (counts) {
      for (const count of counts.all()) {
        this.flushCount(built, series, count, store);
      }
    }
  }

  private flushCount(built: BuiltMetric, series: RequestSeries, count: Count, store: CountStore): void {
    let exposed = count.exposed;
    const isNew = exposed === undefined;
    if (exposed === undefined) {
      exposed = built.exposed.sample(countLabels(built.schemaLabels, built.requestLabels, series, count.labels));
      count.exposed = exposed;
    }
    if ((isNew || store === 'registry') && count.value > count.published) {
      (built.metric as Counter<string>).inc(exposed.labels, count.value - count.published);
      count.published = count.value;
    }
    if ((isNew || store === 'exposed') && count.value > count.exposedValue) {
      exposed.value += count.value - count.exposedValue;
      count.exposedValue = count.value;
    }
  }

  /** What a gauge measures now, by series, in the order prom-client lists them. */
  private gaugeValues(built: BuiltMetric): { labels: Record<string, string>; value: number }[] {
    const rule = built.spec?.rule;
    if (rule === 'disconnects') {
      return [{ labels: {}, value: this.guardContext.disconnects }];
    }
    if (rule === 'ready') {
      const values: { labels: Record<string, string>; value: number }[] = [];
      try {
        for (const [model, ready] of this.modelReady?.() ?? []) {
          values.push({ labels: { model: this.modelLabels.resolve(model) }, value: ready ? 1 : 0 });
        }
      } catch (err) {
        // A failing readiness check leaves the gauge empty, not the whole scrape.
        this.guardContext.onRecordError(err);
        return [];
      }
      return values;
    }
    // The series of a model with several values of a label the gauge does not carry add up; forgotten ones are gone.
    const { schemaLabels, requestLabels } = built;
    const totals = new Map<string, { labels: Record<string, string>; value: number }>();
    this.seriesByKey.forEach((series) => {
      const value = rule === 'queued' ? series.queued : series.inProgress;
      const key =
        requestLabels.length === 0
          ? series.model
          : [series.model, ...requestLabels.map((name) => series.requestLabels[name])].join('\u0000');
      const total = totals.get(key);
      if (total) {
        total.value += value;
      } else {
        totals.set(key, { labels: countLabels(schemaLabels, requestLabels, series, {}), value });
      }
    });
    return [...totals.values()];
  }
}
