import { performance } from 'node:perf_hooks';
import type { Registry, RegistryContentType } from 'prom-client';
import {
  type EndpointName,
  ErrorType,
  REQUEST_TYPE_STREAM,
  REQUEST_TYPE_UNARY,
  type RequestType,
  type Status,
} from '../labels/label-values.js';
import { ModelLabelPolicy } from '../labels/model-label.policy.js';
import { RequestLabels } from '../labels/request-label.policy.js';
import { GenAiMetrics, METER_NAME } from '../opentelemetry/gen-ai-metrics.js';
import { type LlmMetricsServiceOptions, resolveServiceOptions } from '../options/service-options.js';
import type { Schema } from '../schemas/schema.js';
import { CounterFamily, type Measured } from '../store/metric-family.js';
import { MetricStore } from '../store/metric-store.js';
import { PromClientViews } from '../exposition/prom-client-view.js';
import type { GuardContext } from './guard-context.js';
import { InflightGuard } from './inflight-guard.js';
import { SchemaFamilies } from './schema-families.js';
import { SeriesIndex } from './series-index.js';
import { type Fetch, UpstreamRecorder, type UpstreamFetchOptions } from '../gateway/instrumented-fetch.js';
import { UpstreamScope } from '../gateway/upstream-link.js';
import { GenAiClientMetrics } from '../opentelemetry/gen-ai-client-metrics.js';
import { ProviderLabelPolicy } from '../labels/provider-label.policy.js';

/**
 * The HTTP-service metrics of NVIDIA Dynamo, usable with plain prom-client
 * and no Nest, in one of its namings (`schema`): Dynamo 0.2.1's
 * `{prefix}_http_service_*` (default), or Dynamo's frontend today
 * (`dynamo_frontend_*`). Every measurement is recorded once, in the
 * library's own series (`store`); the route's renderers and prom-client's
 * registry (`register`) read it.
 */
export class LlmMetricsService {
  readonly prefix: string;
  readonly schema: Schema;
  /** Decides the `model` label value of each request; bounds the number of series. */
  readonly modelLabels: ModelLabelPolicy;
  /** Whether `requests_total` has the `error_type` label. */
  readonly hasErrorType: boolean;
  /**
   * The library's series, which every exposition reads. Advanced: for the
   * render functions (`renderRegistry`); not to be written to.
   */
  readonly store: MetricStore;

  private readonly index: SeriesIndex;
  private readonly families: SchemaFamilies;
  private readonly context: GuardContext;
  private readonly views: PromClientViews;
  /** With the `upstream` option: what makes the instrumented `fetch`. */
  private readonly upstream: UpstreamRecorder | undefined;

  /**
   * @param prefix the metric name prefix (default: the schema's, `nv_llm` or `dynamo_frontend`).
   * @throws TypeError naming the first invalid option (the prefix included) and its value.
   */
  constructor(prefix?: string, options: LlmMetricsServiceOptions = {}) {
    const resolved = resolveServiceOptions(prefix, options);
    this.schema = resolved.schema;
    this.prefix = resolved.prefix;
    this.hasErrorType = resolved.errorType;
    this.modelLabels = new ModelLabelPolicy(resolved);
    const onRecordError = resolved.onRecordError ?? rethrow;
    // The module's binding: the global `performance` is a getter in Node.js.
    const clock = resolved.clock ?? (() => performance.now());
    const names = Object.keys(resolved.labels);
    const overflow = names.length > 0 ? new CounterFamily(`${this.prefix}_label_overflow_total`, OVERFLOW_HELP, ['label']) : undefined;
    const requestLabels = overflow && new RequestLabels(resolved.labels, resolved.labelTtl, (label) => overflow.counter({ label }).add());
    this.families = new SchemaFamilies(
      resolved,
      {
        series: () => this.index.values(),
        disconnects: () => this.context.disconnects,
        readiness: () => this.readiness(resolved.modelReady),
        upstream: () => this.index.upstreamValues(),
      },
      resolved.onWarning ?? ((message) => process.emitWarning(message)),
    );
    this.index = new SeriesIndex(this.families, requestLabels);
    const families = this.families.families;
    if (overflow) {
      // Each label listed from the start, at 0.
      names.forEach((label) => overflow.pinnedCounter({ label }));
      families.push(overflow);
    }
    this.store = new MetricStore(families, () => this.index.expire(clock()));
    this.views = new PromClientViews(this.store);
    const otel = resolved.openTelemetry;
    const meter = otel?.meterProvider.getMeter(METER_NAME);
    const genAi =
      otel &&
      meter &&
      new GenAiMetrics(
        meter,
        otel.providerName ?? 'openai',
        this.modelLabels,
        this.families.genAiRequestLabels(),
        !!this.families.counters.sloRequests,
      );
    const upstreamScope = resolved.upstream && new UpstreamScope();
    this.context = {
      schema: this.schema,
      onFinished: genAi && ((request) => genAi.record(request)),
      clock,
      open: new Set(),
      disconnects: 0,
      onRecordError,
      onLabelsReleased: requestLabels && ((labelValues, now) => requestLabels.release(labelValues, now)),
      readsAnswers: this.families.counters.finishReasons !== undefined || this.families.counters.toolCalls !== undefined,
      slo: resolved.slo,
      upstreamScope,
    };
    if (resolved.upstream && upstreamScope) {
      this.upstream = new UpstreamRecorder(
        upstreamScope,
        new ProviderLabelPolicy(resolved.upstream.providers, resolved.prices?.providers ?? []),
        (model, provider, link) => this.index.upstreamSeriesFor(this.modelLabels.resolve(model), provider, link),
        { clock, schema: this.schema, onRecordError, listener: meter && new GenAiClientMetrics(meter) },
      );
    }
  }

  /**
   * A `fetch` that records each call as an upstream call to `provider` (the
   * `upstream` option): give it to the `openai` client (`new OpenAI({ fetch })`)
   * or call it. Inside a tracked request (`InflightGuard.run`, which
   * `@TrackLlm()` does), its calls are that request's: its overhead and cost.
   * @param fetchImpl the `fetch` to instrument (default: the global one).
   * @throws TypeError without the `upstream` option, or with a bad `provider`.
   */
  fetch(options: UpstreamFetchOptions): Fetch;
  fetch(fetchImpl: Fetch | undefined, options: UpstreamFetchOptions): Fetch;
  fetch(first: Fetch | UpstreamFetchOptions | undefined, second?: UpstreamFetchOptions): Fetch {
    const [fetchImpl, options] =
      second !== undefined || typeof first === 'function' ? [first as Fetch | undefined, second] : [undefined, first];
    if (this.upstream === undefined) {
      throw new TypeError('nestjs-llm-metrics: fetch() records upstream calls with the `upstream` option only (upstream: true)');
    }
    return this.upstream.fetch(fetchImpl, options);
  }

  /**
   * Adds the metrics to `registry`, as objects that read the library's series.
   * @throws Error naming the metric if `registry` already holds one of that name (this service's included).
   */
  register(registry: Registry<RegistryContentType>): void {
    this.views.register(registry);
  }

  /** Removes from `registry` the metrics `register` added to it. */
  unregister(registry: Registry<RegistryContentType>): void {
    this.views.unregister(registry);
  }

  /** The names of the metrics, in the order `register` adds them. */
  get metricNames(): readonly string[] {
    return this.store.families.map(({ name }) => name);
  }

  /**
   * Opens the accounting of one request: counts it as started and in
   * progress now, and as finished when the guard finishes. `model` goes
   * through the model-label rules, so any client input is safe to pass;
   * `source` is what the request labels' `from` read.
   */
  createInflightGuard(model: unknown, endpoint: EndpointName, streaming: boolean, source?: unknown): InflightGuard {
    const requestType = streaming ? REQUEST_TYPE_STREAM : REQUEST_TYPE_UNARY;
    const labelValues = this.index.acquireLabels(source, this.context.clock);
    const series = this.index.seriesFor(this.modelLabels.resolve(model), labelValues);
    return new InflightGuard(series, endpoint, requestType, this.context, this.context.slo?.tierOf(source));
  }

  /** Hands a fault of the metrics path to `onRecordError`. */
  handleRecordError(err: unknown): void {
    this.context.onRecordError(err);
  }

  /** The number of requests in flight, all models together. */
  get inflightCount(): number {
    return this.context.open.size;
  }

  /**
   * Finishes every guard still open as an error of `errorType` (default
   * `unavailable`), e.g. when the app shuts down with streams in flight.
   * @returns how many there were.
   */
  finishInflight(errorType: ErrorType = ErrorType.Unavailable): number {
    const open = [...this.context.open];
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
    const series = [...(this.families.counters.requests?.family.series() ?? [])];
    const wanted = { model: label, endpoint, request_type: requestType, status, ...(errorType !== undefined && { error_type: errorType }) };
    return series
      .filter(({ labels }) => Object.entries(wanted).every(([name, value]) => labels[name] === value))
      .reduce((count, { value }) => count + value, 0);
  }

  /** The number of requests for `model` in flight now. */
  async getInflightCount(model: string): Promise<number> {
    const label = this.modelLabels.peek(model);
    return [...this.index.values()].filter((series) => series.model === label).reduce((count, { inProgress }) => count + inProgress, 0);
  }

  /** Each model's readiness now, by the `modelReady` option; a check that throws leaves the gauge empty, not the whole scrape. */
  private readiness(modelReady: LlmMetricsServiceOptions['modelReady']): Measured[] {
    const values: Measured[] = [];
    try {
      for (const [model, ready] of modelReady?.() ?? []) {
        values.push({ labels: { model: this.modelLabels.resolve(model) }, value: ready ? 1 : 0 });
      }
    } catch (err) {
      this.context.onRecordError(err);
      return [];
    }
    return values;
  }
}

function rethrow(err: unknown): never {
  throw err;
}

const OVERFLOW_HELP = 'Request-label values recorded as "other": refused, or new while the cap of distinct values was full';
