import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import { logBucketsFromEnv, resolveBuckets } from './buckets.js';
import { describeValue } from './describe-value.js';
import { GenAiMetrics, METER_NAME, type MeterProviderLike } from './gen-ai-metrics.js';
import { type Clock, type CountLabels, type GuardContext, InflightGuard, ModelSeries, type PendingCounts } from './inflight-request.js';
import { type EndpointName, ErrorType, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY, type RequestType, type Status } from './labels.js';
import { ModelLabelPolicy, type ModelLabelPolicyOptions } from './model-label.policy.js';
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
  /** Also record the OpenTelemetry GenAI semantic-convention metrics through a Meter of this provider. */
  openTelemetry?: {
    meterProvider: MeterProviderLike;
    /** `gen_ai.provider.name` (default `'openai'`: the API's flavour). */
    providerName?: string;
  };
  /** Whether each model can be served, read at every scrape: the `model_ready` gauge of the frontend schema. */
  modelReady?: () => Iterable<readonly [model: string, ready: boolean]>;
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

/** A metric of the service: its spec, full name, label names and prom-client object. */
interface BuiltMetric {
  readonly spec: MetricSpec;
  readonly name: string;
  readonly labelNames: readonly string[];
  readonly metric: AnyMetric;
}

/** The counts of `series` that a counter of `rule` publishes. */
function countsOf(rule: RecordingRule, series: ModelSeries): PendingCounts | undefined {
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

/** The latency histograms whose samples carry exemplars. */
const EXEMPLAR_RULES: ReadonlySet<HistogramRule> = new Set(['duration', 'timeToFirstToken', 'interTokenLatency']);

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
  private readonly histograms: Partial<Record<HistogramRule, Histogram<string>>> = {};
  /** With `exemplars`: the histograms whose samples carry a trace. */
  private readonly exemplarHistograms: Partial<Record<HistogramRule, Histogram<string>>> | undefined;
  private readonly guardContext: GuardContext;
  private readonly seriesByModel = new Map<string, ModelSeries>();

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
    const genAi = options.openTelemetry
      ? new GenAiMetrics(options.openTelemetry.meterProvider.getMeter(METER_NAME), options.openTelemetry.providerName ?? 'openai', this.modelLabels)
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
    };
    const buckets = this.bucketsOf(options);
    this.metrics = this.schema.metrics
      .filter((spec) => !(spec.tokens && options.streamingMetrics === false) && !(spec.rule === 'ready' && !options.modelReady))
      .map((spec) => this.build(spec, buckets, options));
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
  createInflightGuard(model: unknown, endpoint: EndpointName, streaming: boolean): InflightGuard {
    const requestType = streaming ? REQUEST_TYPE_STREAM : REQUEST_TYPE_UNARY;
    return new InflightGuard(this.seriesFor(this.modelLabels.resolve(model)), endpoint, requestType, this.guardContext);
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
    const requests = this.metrics.find(({ spec }) => spec.rule === 'requests');
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

  /** The number of requests for `model` in flight now. */
  async getInflightCount(model: string): Promise<number> {
    return this.seriesByModel.get(this.modelLabels.peek(model))?.inProgress ?? 0;
  }

  private seriesFor(model: string): ModelSeries {
    let series = this.seriesByModel.get(model);
    if (!series) {
      const children: Partial<Record<HistogramRule, Histogram.Internal<string>>> = {};
      for (const [rule, histogram] of Object.entries(this.histograms) as [HistogramRule, Histogram<string>][]) {
        children[rule] = histogram.labels(model);
      }
      series = new ModelSeries(model, this.hasErrorType, children);
      this.seriesByModel.set(model, series);
    }
    return series;
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

  /** The prom-client metric of `spec`, whose `collect` publishes what the requests counted. */
  private build(spec: MetricSpec, buckets: HistogramBuckets, options: LlmMetricsServiceOptions): BuiltMetric {
    const name = `${this.prefix}${this.schema.infix}${spec.suffix}`;
    const labelNames = spec.rule === 'requests' && this.hasErrorType && !spec.labels.includes('error_type') ? [...spec.labels, 'error_type'] : [...spec.labels];
    const config = { name, help: spec.help, labelNames, registers: [] };
    let metric: AnyMetric;
    if (spec.type === 'histogram') {
      const { rule, buckets: { key, defaults } } = spec;
      const withExemplars = this.exemplarHistograms !== undefined && EXEMPLAR_RULES.has(rule);
      const histogram = new Histogram({
        ...config,
        buckets: [...resolveBuckets(`buckets.${key}`, buckets[key] ?? defaults)],
        // prom-client checks a registry's format only for those given here: it is registered later, and renders them in OpenMetrics only.
        enableExemplars: withExemplars,
      });
      this.histograms[rule] = histogram;
      if (withExemplars) {
        this.exemplarHistograms![rule] = histogram;
      }
      metric = histogram;
    } else if (spec.type === 'counter') {
      metric = new Counter({ ...config, collect: this.counterCollector(spec.rule, labelNames) });
    } else {
      metric = new Gauge({ ...config, collect: this.gaugeCollector(spec.rule, options.modelReady) });
    }
    return { spec, name, labelNames, metric };
  }

  /** Hands a counter the counts of its rule that the requests added since the last read. */
  private counterCollector(rule: RecordingRule, labelNames: readonly string[]): (this: Counter<string>) => void {
    const seriesByModel = this.seriesByModel;
    return function () {
      seriesByModel.forEach((series) =>
        countsOf(rule, series)?.publish((counted, value) => {
          const labels: Record<string, string> = {};
          for (const label of labelNames) {
            labels[label] = label === 'model' ? series.model : (counted[label as keyof CountLabels] ?? '');
          }
          this.inc(labels, value);
        }),
      );
    };
  }

  /** Sets a gauge to what its rule measures now. */
  private gaugeCollector(rule: RecordingRule, modelReady: LlmMetricsServiceOptions['modelReady']): (this: Gauge<string>) => void {
    const { seriesByModel, guardContext: context, modelLabels } = this;
    return function () {
      if (rule === 'disconnects') {
        this.set(context.disconnects);
      } else if (rule === 'ready') {
        this.reset();
        try {
          for (const [model, ready] of modelReady?.() ?? []) {
            this.set({ model: modelLabels.resolve(model) }, ready ? 1 : 0);
          }
        } catch (err) {
          // A failing readiness check leaves the gauge empty, not the whole scrape.
          context.onRecordError(err);
        }
      } else {
        seriesByModel.forEach((series) => this.set({ model: series.model }, rule === 'queued' ? series.queued : series.inProgress));
      }
    };
  }
}
