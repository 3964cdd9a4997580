import type { Registry, RegistryContentType } from 'prom-client';
import type { HistogramSeries } from '../store/histogram-series.js';
import type { MetricFamily } from '../store/metric-family.js';
import type { MetricStore } from '../store/metric-store.js';
import type { MetricJson } from './prom-client-view.js';
import type { ClassicBucketData, LabelValues, MetricFamilyData, NativeBucketsData } from './protobuf-messages.js';
import { type ProtobufExpositionWriter, encodeProtobufExposition } from './protobuf-writer.js';
import type { RenderSlices } from './render-slices.js';
import { type LabelSet, stringLabels, withDefaultLabels } from './text-format.js';

/** A histogram series' classic buckets, each with the observations up to its bound (those below included) and its exemplar, +Inf last. */
function classicBuckets(series: HistogramSeries, bounds: readonly number[]): ClassicBucketData[] {
  let cumulative = 0;
  return [...bounds, Number.POSITIVE_INFINITY].map((upperBound, i) => {
    cumulative = i < bounds.length ? cumulative + series.bucketCounts[i] : series.count;
    const exemplar = series.exemplars?.[i];
    return {
      upperBound,
      cumulativeCount: cumulative,
      // Kept in seconds, as prom-client keeps them.
      exemplar: exemplar && { labels: exemplar.labelSet, value: exemplar.value, timestampMs: exemplar.timestamp * 1000 },
    };
  });
}

/**
 * Writes `families` to `writer` in the protobuf format, one metric at a
 * time, as `getMetricsAsJSON()` gives them with a registry's `defaults`
 * labels, the histograms with their native buckets where kept; in slices
 * between which the event loop runs.
 */
export async function renderFamiliesProtobuf(
  writer: ProtobufExpositionWriter,
  families: readonly MetricFamily[],
  defaults: LabelSet | undefined,
  slices: RenderSlices,
): Promise<void> {
  for (const family of families) {
    writer.family(family.name, family.help, family.type);
    if (family.type === 'histogram') {
      for (const series of family.series()) {
        writer.metric({
          labels: withDefaultLabels(series.labels, defaults),
          count: series.count,
          sum: series.sum,
          buckets: classicBuckets(series, family.shape.bounds),
          native: series.native?.snapshot(),
        });
        if (slices.due(16)) {
          await slices.pause();
        }
      }
    } else {
      for (const series of family.series()) {
        writer.metric({ labels: withDefaultLabels(series.labels, defaults), value: series.value });
        if (slices.due(16)) {
          await slices.pause();
        }
      }
    }
    await writer.endFamily(slices);
  }
}

/** The native buckets of the series of metric `name` with `labels`, if it has some. */
export type NativeBucketsOf = (name: string, labels: LabelValues) => NativeBucketsData | undefined;

/** The samples of a histogram or summary family, grouped by series (their labels without `le` or `quantile`). */
function bySeries(metric: MetricJson, split: 'le' | 'quantile'): Map<string, { labels: LabelValues; values: MetricJson['values'] }> {
  const series = new Map<string, { labels: LabelValues; values: MetricJson['values'] }>();
  for (const value of metric.values) {
    const labels = stringLabels(value.labels, split);
    const key = JSON.stringify(
      Object.keys(labels)
        .sort()
        .map((name) => [name, labels[name]]),
    );
    const entry = series.get(key);
    if (entry) {
      entry.values.push(value);
    } else {
      series.set(key, { labels, values: [value] });
    }
  }
  return series;
}

/** `metric`, one of `getMetricsAsJSON()`'s (or a metric's `get()`), as a family of the protobuf exposition. */
export function familyFromJson(metric: MetricJson, nativeBucketsOf: NativeBucketsOf): MetricFamilyData {
  const header = { name: metric.name, help: metric.help };
  const type = String(metric.type);
  if (type === 'counter' || type === 'gauge') {
    return { ...header, type, metrics: metric.values.map(({ labels, value }) => ({ labels: stringLabels(labels), value })) };
  }
  if (type === 'summary') {
    return {
      ...header,
      type,
      metrics: [...bySeries(metric, 'quantile').values()].map(({ labels, values }) => ({
        labels,
        count: values.find(({ metricName }) => metricName === `${metric.name}_count`)?.value ?? 0,
        sum: values.find(({ metricName }) => metricName === `${metric.name}_sum`)?.value ?? 0,
        quantiles: values
          .filter(({ metricName }) => metricName === undefined || metricName === metric.name)
          .map(({ labels: { quantile }, value }) => ({ quantile: Number(quantile), value })),
      })),
    };
  }
  return {
    ...header,
    type: 'histogram',
    metrics: [...bySeries(metric, 'le').values()].map(({ labels, values }) => ({
      labels,
      count: values.find(({ metricName }) => metricName === `${metric.name}_count`)?.value ?? 0,
      sum: values.find(({ metricName }) => metricName === `${metric.name}_sum`)?.value ?? 0,
      buckets: values
        .filter(({ metricName }) => metricName === `${metric.name}_bucket`)
        .map(({ labels: { le }, value, exemplar }) => ({
          upperBound: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le),
          cumulativeCount: value,
          // prom-client stamps exemplars in seconds.
          exemplar: exemplar
            ? { labels: stringLabels(exemplar.labelSet), value: exemplar.value, timestampMs: exemplar.timestamp * 1000 }
            : undefined,
        })),
      native: nativeBucketsOf(metric.name, labels),
    })),
  };
}

/**
 * Renders `registry` in the protobuf exposition format, from its public
 * `getMetricsAsJSON()` (default labels included), every metric as prom-client
 * has it, and a histogram series with native buckets (`nativeBucketsOf`)
 * with them beside its classic ones.
 */
export async function renderProtobuf(
  registry: Registry<RegistryContentType>,
  nativeBucketsOf: NativeBucketsOf = () => undefined,
): Promise<Uint8Array> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  return encodeProtobufExposition(metrics.map((metric) => familyFromJson(metric, nativeBucketsOf)));
}

/** The native buckets `store` keeps for the histogram series of `name` with `labels` (any others, e.g. default labels, ignored). */
export function nativeBucketsIn(store: MetricStore): NativeBucketsOf {
  return (name, labels) => {
    const family = store.families.find((candidate) => candidate.name === name);
    return family?.type === 'histogram' ? family.find(labels)?.native?.snapshot() : undefined;
  };
}
