
/** A value of the histogram as prom-client's `Registry` reads it: the bucket bound in `labels`, the series' labels in `sharedLabels`. */
interface SharedLabelValue {
  value: number;
  /** Always `null` on buckets, as prom-client's histograms without exemplars have it. */
  exemplar?: null;
  metricName: string;
  labels: { readonly le?: number | string };
  sharedLabels: { model: string };
}

/** A value as prom-client's `get()` gives it. */
interface LabelledValue {
  value: number;
  exemplar?: null;
  metricName: string;
  labels: Record<string, string | number>;
}

/** The metric as prom-client's `Registry` reads it from `get()` / `getForPromString()`. */
export interface HistogramObject<Value> {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Value[];
}

/** The names of a histogram's samples. */
interface SeriesNames {
  readonly bucket: string;
  readonly sum: string;
  readonly count: string;
}

/** The observations of one `model`: bound once, observed on the hot path. */
export class HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot holds those above every bound. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly upperBounds: readonly number[],
    /** `{ le }` of each bound, then of `+Inf`: shared by every series and every read (nothing writes to them). */
    private readonly bucketLabels: readonly { readonly le: number | string }[],
    readonly labels: { readonly model: string },
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  /** Records one observation. @throws TypeError if `value` is not a finite number, as prom-client does. */
  observe(value: number): void {
    if (!Number.isFinite(value)) {
      throw new TypeError(`Value is not a valid number: ${value}`);
    }
    const bounds = this.upperBounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) {
      bucket++;
    }
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }

  /** Whether anything was observed (since the last reset). */
  get observed(): boolean {
    return this.count > 0;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** The `_bucket` (cumulative, `+Inf` last), `_sum` and `_count` values of this series, as prom-client's `Histogram` gives them. */
  exportTo(values: SharedLabelValue[], names: SeriesNames): void {
    const sharedLabels = this.labels;
    const bucketName = names.bucket;
    let cumulative = 0;
    for (let i = 0; i < this.upperBounds.length; i++) {
      cumulative += this.counts[i];
      values.push({ labels: this.bucketLabels[i], value: cumulative, metricName: bucketName, exemplar: null, sharedLabels });
    }
    values.push(
      { labels: this.bucketLabels[this.upperBounds.length], value: this.count, metricName: bucketName, exemplar: null, sharedLabels },
      { labels: {}, value: this.sum, metricName: names.sum, sharedLabels },
      { labels: {}, value: this.count, metricName: names.count, sharedLabels },
    );
  }
}

/**
 * A histogram labelled by `model` alone, for the hot path: each model's
 * series is bound once (`labels(model)`) and observed without the label
 * validation and hashing prom-client's `Histogram` does on every call.
 * prom-client's `Registry` renders it (and `AggregatorRegistry` merges it)
 * like one of its own histograms: `get()` returns the same values, and a
 * series appears once it has observed something.
 */
export class ModelHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[] = ['model'];
  readonly upperBounds: readonly number[];
  private readonly bucketLabels: readonly { readonly le: number | string }[];
  private readonly sampleNames: SeriesNames;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    this.upperBounds = [...buckets];
    this.bucketLabels = [...buckets.map((le) => ({ le })), { le: '+Inf' }];
    this.sampleNames = { bucket: `${name}_bucket`, sum: `${name}_sum`, count: `${name}_count` };
  }

  /** The series of `model`, created the first time. */
  labels(model: string): HistogramSeries {
    let series = this.series.get(model);
    if (!series) {
      series = new HistogramSeries(this.upperBounds, this.bucketLabels, { model });
      this.series.set(model, series);
    }
    return series;
  }

  /** Forgets every observation, as prom-client's `reset()` does. */
  reset(): void {
    this.series.forEach((series) => series.reset());
  }

  /** What prom-client's `Registry` renders as text: the series' labels shared by their values. */
  async getForPromString(): Promise<HistogramObject<SharedLabelValue>> {
    const values: SharedLabelValue[] = [];
    for (const series of this.series.values()) {
      if (series.observed) {
        series.exportTo(values, this.sampleNames);
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The metric as prom-client's `get()` gives it (each value's labels complete), e.g. for `AggregatorRegistry`. */
  async get(): Promise<HistogramObject<LabelledValue>> {
    const metric = await this.getForPromString();
    return {
      ...metric,
      values: metric.values.map(({ sharedLabels, labels, ...value }) => ({ ...value, labels: { ...labels, ...sharedLabels } })),
    };
  }
}
