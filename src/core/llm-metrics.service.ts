import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import { type Clock, type GuardContext, InflightGuard, ModelSeries } from './inflight-request.js';
import { type EndpointName, ErrorType, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY, type RequestType, type Status } from './labels.js';
import {
  DEFAULT_PREFIX,
  INFLIGHT_REQUESTS_HELP,
  INPUT_SEQUENCE_TOKENS_BUCKETS,
  INPUT_SEQUENCE_TOKENS_HELP,
  INTER_TOKEN_LATENCY_BUCKETS,
  INTER_TOKEN_LATENCY_HELP,
  OUTPUT_SEQUENCE_TOKENS_BUCKETS,
  OUTPUT_SEQUENCE_TOKENS_HELP,
  REQUEST_DURATION_BUCKETS,
  REQUEST_DURATION_HELP,
  REQUESTS_TOTAL_HELP,
  type StreamingBuckets,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  TIME_TO_FIRST_TOKEN_HELP,
  assertBuckets,
  assertMetricPrefix,
  metricNames,
} from './metric-definitions.js';
import { ModelLabelPolicy, type ModelLabelPolicyOptions } from './model-label.policy.js';

/** Options of `LlmMetricsService` beyond its prefix. */
export interface LlmMetricsServiceOptions extends ModelLabelPolicyOptions {
  /** Add the `error_type` label to `requests_total` (default `false`: the 0.2.1 labels exactly). */
  errorType?: boolean;
  /** Record time to first token, inter-token latency and sequence lengths (default `true`). */
  streamingMetrics?: boolean;
  /** Buckets of the streaming histograms (finite, strictly increasing). */
  buckets?: StreamingBuckets;
  /** Monotonic clock in milliseconds (default `performance.now`); for tests. */
  clock?: Clock;
  /**
   * Called when recording a metric throws (e.g. a broken collector); the
   * request carries on. Default: the error is thrown to the caller.
   */
  onRecordError?: (err: unknown) => void;
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** A histogram labelled by `model`, registered nowhere yet. */
function histogram(name: string, help: string, buckets: readonly number[]): Histogram<string> {
  return new Histogram({ name, help, labelNames: ['model'], buckets: [...buckets], registers: [] });
}

/** The streaming histograms, by what they measure. */
interface StreamingHistograms {
  readonly timeToFirstToken: Histogram<string>;
  readonly interTokenLatency: Histogram<string>;
  readonly inputSequenceTokens: Histogram<string>;
  readonly outputSequenceTokens: Histogram<string>;
}

/**
 * The HTTP-service metrics of Dynamo's `dynamo-llm`, usable with plain
 * prom-client and no Nest: the 0.2.1 `requests_total`, `inflight_requests`
 * and `request_duration_seconds`, and the streaming histograms of later
 * Dynamo releases, all under `{prefix}_http_service_`.
 */
export class LlmMetricsService {
  readonly prefix: string;
  /** Decides the `model` label value of each request; bounds the number of series. */
  readonly modelLabels: ModelLabelPolicy;
  /** Whether `requests_total` has the `error_type` label. */
  readonly hasErrorType: boolean;

  private readonly requestCounter: Counter<string>;
  private readonly inflightGauge: Gauge<string>;
  private readonly requestDuration: Histogram<string>;
  private readonly streaming: StreamingHistograms | undefined;
  /** Every metric of the service, with its name (prom-client's classes do not type it). */
  private readonly metrics: readonly { readonly name: string; readonly metric: AnyMetric }[];
  private readonly guardContext: GuardContext;
  private readonly seriesByModel = new Map<string, ModelSeries>();

  /** @throws TypeError naming the prefix or the buckets option if it is invalid. */
  constructor(prefix: string = DEFAULT_PREFIX, options: LlmMetricsServiceOptions = {}) {
    this.prefix = assertMetricPrefix(prefix);
    this.modelLabels = new ModelLabelPolicy(options);
    this.hasErrorType = options.errorType === true;
    this.guardContext = {
      // The module's binding: the global `performance` is a getter in Node.js.
      clock: options.clock ?? (() => performance.now()),
      open: new Set(),
      onRecordError:
        options.onRecordError ??
        ((err) => {
          throw err;
        }),
    };
    const names = metricNames(prefix);
    // The hot path counts in plain numbers; these hand them over whenever the metrics are read.
    const seriesByModel = this.seriesByModel;
    this.requestCounter = new Counter({
      name: names.requestsTotal,
      help: REQUESTS_TOTAL_HELP,
      labelNames: ['model', 'endpoint', 'request_type', 'status', ...(this.hasErrorType ? ['error_type'] : [])],
      registers: [],
      collect() {
        seriesByModel.forEach((series) => series.publishCounts());
      },
    });
    this.inflightGauge = new Gauge({
      name: names.inflightRequests,
      help: INFLIGHT_REQUESTS_HELP,
      labelNames: ['model'],
      registers: [],
      collect() {
        seriesByModel.forEach((series) => series.publishInflight());
      },
    });
    this.requestDuration = histogram(names.requestDuration, REQUEST_DURATION_HELP, REQUEST_DURATION_BUCKETS);
    if (options.streamingMetrics !== false) {
      const buckets = options.buckets ?? {};
      const bucketsOf = (key: keyof StreamingBuckets, defaults: readonly number[]) =>
        buckets[key] === undefined ? defaults : assertBuckets(`buckets.${key}`, buckets[key]);
      this.streaming = {
        timeToFirstToken: histogram(
          names.timeToFirstToken,
          TIME_TO_FIRST_TOKEN_HELP,
          bucketsOf('timeToFirstToken', TIME_TO_FIRST_TOKEN_BUCKETS),
        ),
        interTokenLatency: histogram(
          names.interTokenLatency,
          INTER_TOKEN_LATENCY_HELP,
          bucketsOf('interTokenLatency', INTER_TOKEN_LATENCY_BUCKETS),
        ),
        inputSequenceTokens: histogram(
          names.inputSequenceTokens,
          INPUT_SEQUENCE_TOKENS_HELP,
          bucketsOf('inputSequenceTokens', INPUT_SEQUENCE_TOKENS_BUCKETS),
        ),
        outputSequenceTokens: histogram(
          names.outputSequenceTokens,
          OUTPUT_SEQUENCE_TOKENS_HELP,
          bucketsOf('outputSequenceTokens', OUTPUT_SEQUENCE_TOKENS_BUCKETS),
        ),
      };
    }
    const streaming = this.streaming;
    this.metrics = [
      { name: names.requestsTotal, metric: this.requestCounter },
      { name: names.inflightRequests, metric: this.inflightGauge },
      { name: names.requestDuration, metric: this.requestDuration },
      ...(streaming
        ? [
            { name: names.timeToFirstToken, metric: streaming.timeToFirstToken },
            { name: names.interTokenLatency, metric: streaming.interTokenLatency },
            { name: names.inputSequenceTokens, metric: streaming.inputSequenceTokens },
            { name: names.outputSequenceTokens, metric: streaming.outputSequenceTokens },
          ]
        : []),
    ];
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
   * Opens the accounting of one request: increments the in-flight gauge now
   * and counts the request when the guard finishes. `model` goes through the
   * model-label rules, so any client input is safe to pass.
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
    const { values } = await this.requestCounter.get();
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
    const label = this.modelLabels.peek(model);
    const { values } = await this.inflightGauge.get();
    return values.find(({ labels }) => labels.model === label)?.value ?? 0;
  }

  private seriesFor(model: string): ModelSeries {
    let series = this.seriesByModel.get(model);
    if (!series) {
      const streaming = this.streaming;
      series = new ModelSeries(
        model,
        this.requestCounter,
        this.hasErrorType,
        this.inflightGauge.labels(model),
        this.requestDuration.labels(model),
        streaming && {
          timeToFirstToken: streaming.timeToFirstToken.labels(model),
          interTokenLatency: streaming.interTokenLatency.labels(model),
          inputSequenceTokens: streaming.inputSequenceTokens.labels(model),
          outputSequenceTokens: streaming.outputSequenceTokens.labels(model),
        },
      );
      this.seriesByModel.set(model, series);
    }
    return series;
  }
}
