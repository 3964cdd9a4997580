import protobuf from 'protobufjs';
import type { Registry, RegistryContentType } from 'prom-client';
import type { NativeHistogramSnapshot } from './native-histogram.js';
import type { RenderSlices } from './series-exposition.js';
import { type ExpositionBuffers, ExpositionWriter, stringLabels } from './exposition-format.js';
import type { MetricJson } from './openmetrics.js';

/*
 * The Prometheus protobuf exposition format: each `MetricFamily` message of
 * Prometheus' `io/prometheus/client/metrics.proto`, length-delimited (a varint
 * length, then the message), one after the other. Prometheus asks for it (when
 * started with `--enable-feature=native-histograms`) because it is the only
 * format that carries native histograms.
 */

/** The content type of the protobuf exposition format, as Prometheus asks for it. */
export const PROTOBUF_EXPOSITION_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** Label names to values. Written sorted by name, as the Go client writes them. */
export type LabelValues = Readonly<Record<string, string>>;

/** An exemplar of a counter or of a classic bucket. */
export interface ExemplarData {
  readonly labels: LabelValues;
  readonly value: number;
  /** When it was observed, in milliseconds since the epoch. */
  readonly timestampMs?: number;
}

export interface CounterData {
  readonly labels?: LabelValues;
  readonly value: number;
  readonly exemplar?: ExemplarData;
}

export interface GaugeData {
  readonly labels?: LabelValues;
  readonly value: number;
}

/** A classic bucket: the observations up to `upperBound`, inclusive. */
export interface ClassicBucketData {
  readonly upperBound: number;
  /** Observations up to `upperBound`, those of the buckets below included. */
  readonly cumulativeCount: number;
  readonly exemplar?: ExemplarData;
}

/** The native part of a histogram: a {@link NativeHistogramSnapshot} (its count and sum are the histogram's). */
export type NativeBucketsData = Omit<NativeHistogramSnapshot, 'count' | 'sum'>;

/**
 * A histogram with classic buckets, native buckets or both. With native
 * buckets, Prometheus (run with `--enable-feature=native-histograms`)
 * stores a native histogram; Prometheus 2.42 then ignores the classic ones.
 */
export interface HistogramData {
  readonly labels?: LabelValues;
  readonly count: number;
  readonly sum: number;
  /** In increasing order of upper bound; the `+Inf` one may be left out. */
  readonly buckets?: readonly ClassicBucketData[];
  readonly native?: NativeBucketsData;
}

interface FamilyHeader {
  /** The metric name, without any `_total`, `_bucket`, `_count` or `_sum` suffix the text format adds. */
  readonly name: string;
  readonly help: string;
}

/** A summary: its count, sum and quantiles (as prom-client's `Summary` gives them). */
export interface SummaryData {
  readonly labels?: LabelValues;
  readonly count: number;
  readonly sum: number;
  readonly quantiles: readonly { readonly quantile: number; readonly value: number }[];
}

/** A metric family: its name, help, type and one metric per label set. */
export type MetricFamilyData =
  | (FamilyHeader & { readonly type: 'counter'; readonly metrics: readonly CounterData[] })
  | (FamilyHeader & { readonly type: 'gauge'; readonly metrics: readonly GaugeData[] })
  | (FamilyHeader & { readonly type: 'summary'; readonly metrics: readonly SummaryData[] })
  | (FamilyHeader & { readonly type: 'histogram'; readonly metrics: readonly HistogramData[] });

/**
 * Proto2, the syntax of client_model's `metrics.proto` that the Go client
 * writes with: a field set to 0 is still written (as Go writes the 0-length
 * no-op span), repeated numbers one by one. protobufjs takes the types of a
 * JSON descriptor as proto3 unless told.
 */
const PROTO2 = 'proto2';

/**
 * The messages and fields of Prometheus' `io/prometheus/client/metrics.proto`
 * (as Prometheus 2.42 reads it) that this library writes, as a protobufjs JSON
 * descriptor. Left out: untyped metrics, float counts, sample
 * timestamps, and the fields Prometheus added after 2.42 (created timestamps,
 * native histogram exemplars, units).
 */
const METRICS_PROTO: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            // Proto3, as in google/protobuf/timestamp.proto.
            Timestamp: {
              fields: {
                seconds: { type: 'int64', id: 1 },
                nanos: { type: 'int32', id: 2 },
              },
            },
          },
        },
      },
    },
    io: {
      nested: {
        prometheus: {
          nested: {
            client: {
              nested: {
                LabelPair: {
                  edition: PROTO2,
                  fields: {
                    name: { type: 'string', id: 1 },
                    value: { type: 'string', id: 2 },
                  },
                },
                MetricType: {
                  edition: PROTO2,
                  values: { COUNTER: 0, GAUGE: 1, SUMMARY: 2, UNTYPED: 3, HISTOGRAM: 4, GAUGE_HISTOGRAM: 5 },
                },
                Gauge: {
                  edition: PROTO2,
                  fields: {
                    value: { type: 'double', id: 1 },
                  },
                },
                Counter: {
                  edition: PROTO2,
                  fields: {
                    value: { type: 'double', id: 1 },
                    exemplar: { type: 'Exemplar', id: 2 },
                  },
                },
                Quantile: {
                  edition: PROTO2,
                  fields: {
                    quantile: { type: 'double', id: 1 },
                    value: { type: 'double', id: 2 },
                  },
                },
                Summary: {
                  edition: PROTO2,
                  fields: {
                    sample_count: { type: 'uint64', id: 1 },
                    sample_sum: { type: 'double', id: 2 },
                    quantile: { rule: 'repeated', type: 'Quantile', id: 3 },
                  },
                },
                Histogram: {
                  edition: PROTO2,
                  fields: {
                    sample_count: { type: 'uint64', id: 1 },
                    sample_sum: { type: 'double', id: 2 },
                    bucket: { rule: 'repeated', type: 'Bucket', id: 3 },
                    schema: { type: 'sint32', id: 5 },
                    zero_threshold: { type: 'double', id: 6 },
                    zero_count: { type: 'uint64', id: 7 },
                    negative_span: { rule: 'repeated', type: 'BucketSpan', id: 9 },
                    negative_delta: { rule: 'repeated', type: 'sint64', id: 10 },
                    positive_span: { rule: 'repeated', type: 'BucketSpan', id: 12 },
                    positive_delta: { rule: 'repeated', type: 'sint64', id: 13 },
                  },
                },
                Bucket: {
                  edition: PROTO2,
                  fields: {
                    cumulative_count: { type: 'uint64', id: 1 },
                    upper_bound: { type: 'double', id: 2 },
                    exemplar: { type: 'Exemplar', id: 3 },
                  },
                },
                BucketSpan: {
                  edition: PROTO2,
                  fields: {
                    offset: { type: 'sint32', id: 1 },
                    length: { type: 'uint32', id: 2 },
                  },
                },
                Exemplar: {
                  edition: PROTO2,
                  fields: {
                    label: { rule: 'repeated', type: 'LabelPair', id: 1 },
                    value: { type: 'double', id: 2 },
                    timestamp: { type: 'google.protobuf.Timestamp', id: 3 },
                  },
                },
                Metric: {
                  edition: PROTO2,
                  fields: {
                    label: { rule: 'repeated', type: 'LabelPair', id: 1 },
                    gauge: { type: 'Gauge', id: 2 },
                    counter: { type: 'Counter', id: 3 },
                    summary: { type: 'Summary', id: 4 },
                    histogram: { type: 'Histogram', id: 7 },
                  },
                },
                MetricFamily: {
                  edition: PROTO2,
                  fields: {
                    name: { type: 'string', id: 1 },
                    help: { type: 'string', id: 2 },
                    type: { type: 'MetricType', id: 3 },
                    metric: { rule: 'repeated', type: 'Metric', id: 4 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const METRICS_ROOT = protobuf.Root.fromJSON(METRICS_PROTO);
/** The `io.prometheus.client.MetricFamily` message type, e.g. to decode an exposition with `decodeDelimited`. */
export const METRIC_FAMILY_TYPE: protobuf.Type = METRICS_ROOT.lookupType('io.prometheus.client.MetricFamily');
const METRIC_TYPE: protobuf.Type = METRICS_ROOT.lookupType('io.prometheus.client.Metric');
/** The key of `MetricFamily.metric` (field 4, length-delimited). */
const METRIC_FIELD_KEY = (4 << 3) | 2;

/** `MetricType` values of `metrics.proto`. */
const METRIC_TYPES = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

type Fields = Record<string, unknown>;

function labelPairs(labels: LabelValues = {}): Fields[] {
  return Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name] }));
}

/** A `google.protobuf.Timestamp`: whole seconds since the epoch, and nanoseconds in [0, 10^9). */
function timestampFields(milliseconds: number): Fields {
  const seconds = Math.floor(milliseconds / 1000);
  return { seconds, nanos: Math.round((milliseconds - seconds * 1000) * 1e6) };
}

function exemplarFields({ labels, value, timestampMs }: ExemplarData): Fields {
  return {
    label: labelPairs(labels),
    value,
    ...(timestampMs !== undefined && { timestamp: timestampFields(timestampMs) }),
  };
}

function histogramFields({ count, sum, buckets = [], native }: HistogramData): Fields {
  return {
    sample_count: count,
    sample_sum: sum,
    bucket: buckets.map(({ upperBound, cumulativeCount, exemplar }) => ({
      cumulative_count: cumulativeCount,
      upper_bound: upperBound,
      ...(exemplar && { exemplar: exemplarFields(exemplar) }),
    })),
    ...(native && {
      schema: native.schema,
      zero_threshold: native.zeroThreshold,
      zero_count: native.zeroCount,
      negative_span: native.negativeSpans,
      negative_delta: native.negativeDeltas,
      positive_span: native.positiveSpans,
      positive_delta: native.positiveDeltas,
    }),
  };
}

/** One metric of a family of `type`. */
type MetricData<T extends MetricFamilyData['type']> = Extract<MetricFamilyData, { type: T }>['metrics'][number];

function metricFields(type: MetricFamilyData['type'], metric: MetricData<typeof type>): Fields {
  switch (type) {
    case 'counter': {
      const { labels, value, exemplar } = metric as CounterData;
      return { label: labelPairs(labels), counter: { value, ...(exemplar && { exemplar: exemplarFields(exemplar) }) } };
    }
    case 'gauge': {
      const { labels, value } = metric as GaugeData;
      return { label: labelPairs(labels), gauge: { value } };
    }
    case 'summary': {
      const { labels, count, sum, quantiles } = metric as SummaryData;
      return {
        label: labelPairs(labels),
        summary: { sample_count: count, sample_sum: sum, quantile: quantiles.map(({ quantile, value }) => ({ quantile, value })) },
      };
    }
    case 'histogram':
      return { label: labelPairs(metric.labels), histogram: histogramFields(metric as HistogramData) };
  }
}

/** The bytes of `value` as a varint. */
function varintLength(value: number): number {
  let length = 1;
  for (let rest = value >>> 7; rest > 0; rest >>>= 7) {
    length++;
  }
  return length;
}

/**
 * Writes the protobuf exposition format ({@link PROTOBUF_EXPOSITION_CONTENT_TYPE})
 * one metric at a time, each encoded as it comes, so that a family of many
 * series can be written in slices: each `MetricFamily` message
 * length-delimited, in the order written, into buffers (`ExpositionWriter`).
 */
export class ProtobufExpositionWriter {
  private readonly out: ExpositionWriter;
  /** The family being written: its fields but its metrics, its type, its metrics encoded, and its length. */
  private current: { header: Uint8Array; type: MetricFamilyData['type']; metrics: Uint8Array[]; length: number } | undefined;

  constructor(buffers?: ExpositionBuffers) {
    this.out = new ExpositionWriter(buffers);
  }

  /** Starts a family, writing out the one before if `endFamily` did not. */
  family(name: string, help: string, type: MetricFamilyData['type']): void {
    for (const metric of this.startWritingOut()) {
      this.writeOut(metric);
    }
    const header = METRIC_FAMILY_TYPE.encode({ name, help, type: METRIC_TYPES[type] }).finish();
    this.current = { header, type, metrics: [], length: header.length };
  }

  /** Adds a metric to the family started last. */
  metric(metric: MetricData<MetricFamilyData['type']>): void {
    const family = this.current;
    if (family === undefined) {
      throw new Error('nestjs-llm-metrics: a metric written before its family');
    }
    const bytes = METRIC_TYPE.encode(metricFields(family.type, metric)).finish();
    family.metrics.push(bytes);
    family.length += 1 + varintLength(bytes.length) + bytes.length;
  }

  /**
   * Writes out the family started last, now that its length is known; with
   * `slices`, pausing between slices of the work (a family of thousands of
   * series is a long copy).
   */
  async endFamily(slices: RenderSlices): Promise<void> {
    const metrics = this.startWritingOut();
    for (const metric of metrics) {
      this.writeOut(metric);
      if (slices.due()) {
        await slices.pause();
      }
    }
  }

  /** The exposition written, as buffers to send one after the other; the writer is spent. */
  finish(): Buffer[] {
    for (const metric of this.startWritingOut()) {
      this.writeOut(metric);
    }
    return this.out.finish();
  }

  /** Writes out the length and fields of the family started last, and returns its metrics, to write out next. */
  private startWritingOut(): readonly Uint8Array[] {
    const family = this.current;
    if (family === undefined) {
      return [];
    }
    this.current = undefined;
    this.out.varint(family.length);
    this.out.bytes(family.header);
    return family.metrics;
  }

  private writeOut(metric: Uint8Array): void {
    this.out.varint(METRIC_FIELD_KEY);
    this.out.varint(metric.length);
    this.out.bytes(metric);
  }
}

/**
 * `families` in the protobuf exposition format
 * ({@link PROTOBUF_EXPOSITION_CONTENT_TYPE}): one length-delimited
 * `MetricFamily` message each, in the order given.
 */
export function encodeProtobufExposition(families: readonly MetricFamilyData[]): Uint8Array {
  const writer = new ProtobufExpositionWriter();
  for (const family of families) {
    writer.family(family.name, family.help, family.type);
    for (const metric of family.metrics) {
      writer.metric(metric);
    }
  }
  return Buffer.concat(writer.finish());
}

/** The native buckets of the series of metric `name` with `labels`, if it has some. */
export type NativeBucketsOf = (name: string, labels: LabelValues) => NativeBucketsData | undefined;

/** The samples of a histogram or summary family, grouped by series (their labels without `le` or `quantile`). */
function bySeries(metric: MetricJson, split: 'le' | 'quantile'): Map<string, { labels: LabelValues; values: MetricJson['values'] }> {
  const series = new Map<string, { labels: LabelValues; values: MetricJson['values'] }>();
  for (const value of metric.values) {
    const labels = stringLabels(value.labels, split);
    const key = JSON.stringify(labelPairs(labels));
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
