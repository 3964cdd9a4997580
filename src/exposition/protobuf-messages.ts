import protobuf from 'protobufjs';
import type { NativeHistogramSnapshot } from '../store/native-histogram.js';

/*
 * The Prometheus protobuf exposition format: each `MetricFamily` message of
 * Prometheus' `io/prometheus/client/metrics.proto`, length-delimited (a varint
 * length, then the message), one after the other. Prometheus asks for it (when
 * started with `--enable-feature=native-histograms`) because it is the only
 * format that carries native histograms.
 */

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
/** The `io.prometheus.client.Metric` message type. */
export const METRIC_TYPE: protobuf.Type = METRICS_ROOT.lookupType('io.prometheus.client.Metric');
/** The key of `MetricFamily.metric` (field 4, length-delimited). */
export const METRIC_FIELD_KEY = (4 << 3) | 2;

/** `MetricType` values of `metrics.proto`. */
export const METRIC_TYPES = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

type Fields = Record<string, unknown>;

function labelPairFields(labels: LabelValues = {}): Fields[] {
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
    label: labelPairFields(labels),
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
export type MetricData<T extends MetricFamilyData['type']> = Extract<MetricFamilyData, { type: T }>['metrics'][number];

/** The fields of `metric`, of a family of `type`, as the `Metric` message has them. */
export function metricFields(type: MetricFamilyData['type'], metric: MetricData<typeof type>): Fields {
  switch (type) {
    case 'counter': {
      const { labels, value, exemplar } = metric as CounterData;
      return { label: labelPairFields(labels), counter: { value, ...(exemplar && { exemplar: exemplarFields(exemplar) }) } };
    }
    case 'gauge': {
      const { labels, value } = metric as GaugeData;
      return { label: labelPairFields(labels), gauge: { value } };
    }
    case 'summary': {
      const { labels, count, sum, quantiles } = metric as SummaryData;
      return {
        label: labelPairFields(labels),
        summary: { sample_count: count, sample_sum: sum, quantile: quantiles.map(({ quantile, value }) => ({ quantile, value })) },
      };
    }
    case 'histogram':
      return { label: labelPairFields(metric.labels), histogram: histogramFields(metric as HistogramData) };
  }
}
