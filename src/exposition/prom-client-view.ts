import type { Metric, MetricValue, Registry, RegistryContentType } from 'prom-client';
import type { StoredExemplar } from '../store/histogram-series.js';
import type { MetricFamily } from '../store/metric-family.js';
import type { MetricStore } from '../store/metric-store.js';

/**
 * One value of a metric as prom-client's `get()` gives it at run time: its
 * typed `MetricValue`, and the fields its typings leave out (a histogram's
 * `metricName` and bucket `exemplar`).
 */
export interface MetricJsonValue extends MetricValue<string> {
  metricName?: string;
  exemplar?: StoredExemplar | null;
}

/**
 * A metric as prom-client's `get()` (and `getMetricsAsJSON()`) gives it at
 * run time: the fields of its typed `MetricObjectWithValues`, whose `type` is
 * the type's name (`'counter'`, …) where the typings say an enum.
 */
export interface MetricJson {
  name: string;
  help: string;
  type: unknown;
  aggregator?: string;
  values: MetricJsonValue[];
}

/** The values of `family` in the shape prom-client's own metric of its type gives (`Counter`, `Gauge`, `Histogram`), `name` naming a histogram's samples. */
function valuesOf(family: MetricFamily, name: string): MetricJsonValue[] {
  const values: MetricJsonValue[] = [];
  if (family.type !== 'histogram') {
    for (const { labels, value } of family.series()) {
      values.push({ value, labels });
    }
    return values;
  }
  const { bounds, exemplars } = family.shape;
  for (const series of family.series()) {
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += series.bucketCounts[i];
      values.push({
        labels: { le, ...series.labels },
        value: cumulative,
        metricName: `${name}_bucket`,
        exemplar: exemplars ? (series.exemplars?.[i] ?? null) : null,
      });
    });
    values.push(
      {
        labels: { le: '+Inf', ...series.labels },
        value: series.count,
        metricName: `${name}_bucket`,
        // As prom-client's own: none above the last bound is `undefined` where the others are `null`.
        exemplar: exemplars ? series.exemplars?.[bounds.length] : null,
      },
      { labels: { ...series.labels }, value: series.sum, metricName: `${name}_sum`, exemplar: undefined },
      { labels: { ...series.labels }, value: series.count, metricName: `${name}_count`, exemplar: undefined },
    );
  }
  return values;
}

/**
 * A metric of the store as prom-client's registry takes one: the contract
 * its registry reads of its own metrics (`name`, `type`, `help`,
 * `aggregator`; `get()` for `metrics()`, `getMetricsAsJSON()`, cluster
 * aggregation and the Pushgateway; `reset()` for `resetMetrics()`), reading
 * the store and holding nothing of its own.
 */
class PromClientMetric {
  /** prom-client's registry renames an OpenMetrics counter (no `_total`) the first time it renders it, as it does its own. */
  name: string;
  readonly help: string;
  readonly type: MetricFamily['type'];
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];

  constructor(
    private readonly store: MetricStore,
    /** The name it is registered under. */
    readonly registeredName: string,
  ) {
    const family = this.family();
    this.name = family.name;
    this.help = family.help;
    this.type = family.type;
    this.labelNames = family.labelNames;
  }

  async get(): Promise<MetricJson> {
    return { name: this.name, help: this.help, type: this.type, values: valuesOf(this.family(), this.name), aggregator: this.aggregator };
  }

  /** What `registry.resetMetrics()` calls: the store's series back to nothing recorded, in every view. */
  reset(): void {
    this.family().reset();
  }

  private family(): MetricFamily {
    return this.store.readFamily(this.registeredName)!;
  }
}

/** The store's metrics in prom-client's registries: one object per family and registry (a registry of OpenMetrics renames them). */
export class PromClientViews {
  private readonly registered = new WeakMap<Registry<RegistryContentType>, PromClientMetric[]>();

  constructor(private readonly store: MetricStore) {}

  /** @throws Error naming the metric if `registry` already holds one of that name (these included). */
  register(registry: Registry<RegistryContentType>): void {
    for (const { name } of this.store.families) {
      if (registry.getSingleMetric(name)) {
        throw new Error(
          `nestjs-llm-metrics: the registry already holds a metric named "${name}"; register each LlmMetricsService once, or give it another prefix`,
        );
      }
    }
    const metrics = this.store.families.map(({ name }) => new PromClientMetric(this.store, name));
    for (const metric of metrics) {
      // prom-client types a registered metric as one of its own classes; at run time its registry reads only the contract above (pinned by a contract test).
      registry.registerMetric(metric as unknown as Metric);
    }
    this.registered.set(registry, metrics);
  }

  /** Removes from `registry` what `register` added to it. */
  unregister(registry: Registry<RegistryContentType>): void {
    for (const metric of this.registered.get(registry) ?? []) {
      if ((registry.getSingleMetric(metric.registeredName) as unknown) === metric) {
        registry.removeSingleMetric(metric.registeredName);
      }
    }
    this.registered.delete(registry);
  }
}
