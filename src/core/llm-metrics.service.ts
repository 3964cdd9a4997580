import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import { InflightGuard, ModelSeries } from './inflight.guard.js';
import { type EndpointName, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY, type RequestType, type Status } from './labels.js';
import {
  DEFAULT_PREFIX,
  INFLIGHT_REQUESTS_HELP,
  REQUEST_DURATION_BUCKETS,
  REQUEST_DURATION_HELP,
  REQUESTS_TOTAL_HELP,
  assertMetricPrefix,
  metricNames,
} from './metric-definitions.js';
import { ModelLabelPolicy, type ModelLabelPolicyOptions } from './model-label.policy.js';

/** Options of `LlmMetricsService` beyond its prefix. */
export type LlmMetricsServiceOptions = ModelLabelPolicyOptions;

/**
 * The HTTP-service metrics of Dynamo's `dynamo-llm` 0.2.1, usable with plain
 * prom-client and no Nest: `requests_total`, `inflight_requests` and
 * `request_duration_seconds`, all under `{prefix}_http_service_`.
 */
export class LlmMetricsService {
  readonly prefix: string;
  /** Decides the `model` label value of each request; bounds the number of series. */
  readonly modelLabels: ModelLabelPolicy;

  private readonly requestCounter: Counter<string>;
  private readonly inflightGauge: Gauge<string>;
  private readonly requestDuration: Histogram<string>;
  private readonly seriesByModel = new Map<string, ModelSeries>();

  /** @throws TypeError naming `prefix` if it cannot start a metric name. */
  constructor(prefix: string = DEFAULT_PREFIX, options: LlmMetricsServiceOptions = {}) {
    this.prefix = assertMetricPrefix(prefix);
    this.modelLabels = new ModelLabelPolicy(options);
    const names = metricNames(prefix);
    this.requestCounter = new Counter({
      name: names.requestsTotal,
      help: REQUESTS_TOTAL_HELP,
      labelNames: ['model', 'endpoint', 'request_type', 'status'],
      registers: [],
    });
    this.inflightGauge = new Gauge({
      name: names.inflightRequests,
      help: INFLIGHT_REQUESTS_HELP,
      labelNames: ['model'],
      registers: [],
    });
    this.requestDuration = new Histogram({
      name: names.requestDuration,
      help: REQUEST_DURATION_HELP,
      labelNames: ['model'],
      buckets: [...REQUEST_DURATION_BUCKETS],
      registers: [],
    });
  }

  /** The metrics this service records, in registration order. */
  private get metrics() {
    return [this.requestCounter, this.inflightGauge, this.requestDuration];
  }

  /**
   * Adds the metrics to `registry`.
   * @throws Error naming the metric if `registry` already holds one of that name (this service's included).
   */
  register(registry: Registry<RegistryContentType>): void {
    for (const metric of this.metrics) {
      const name = (metric as unknown as { name: string }).name;
      if (registry.getSingleMetric(name)) {
        throw new Error(
          `nestjs-llm-metrics: the registry already holds a metric named "${name}"; ` +
            'register each LlmMetricsService once, or give it another prefix',
        );
      }
    }
    for (const metric of this.metrics) {
      registry.registerMetric(metric);
    }
  }

  /** Removes from `registry` the metrics `register` added to it. */
  unregister(registry: Registry<RegistryContentType>): void {
    for (const metric of this.metrics) {
      const name = (metric as unknown as { name: string }).name;
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
    return new InflightGuard(this.seriesFor(this.modelLabels.resolve(model)), endpoint, requestType);
  }

  /** The number of requests counted for these labels. */
  async getRequestCounter(model: string, endpoint: EndpointName, requestType: RequestType, status: Status): Promise<number> {
    const label = this.modelLabels.peek(model);
    const { values } = await this.requestCounter.get();
    const found = values.find(
      ({ labels }) =>
        labels.model === label &&
        labels.endpoint === endpoint &&
        labels.request_type === requestType &&
        labels.status === status,
    );
    return found?.value ?? 0;
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
      series = new ModelSeries(
        model,
        this.requestCounter,
        this.inflightGauge.labels(model),
        this.requestDuration.labels(model),
      );
      this.seriesByModel.set(model, series);
    }
    return series;
  }
}
