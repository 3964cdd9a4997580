import { NativeHistogram, type NativeHistogramOptions } from './native-histogram.js';
import { type LabelValues, Series, type SeriesListing } from './series.js';

/** An exemplar as OpenMetrics carries it (and as prom-client keeps it): its labels, its value, and when, in seconds since the epoch. */
export interface StoredExemplar {
  readonly labelSet: LabelValues;
  readonly value: number;
  readonly timestamp: number;
}

/** What the series of a histogram share. */
export interface HistogramShape {
  /** The upper bounds of the classic buckets, increasing, +Inf left out. */
  readonly bounds: readonly number[];
  /** Whether each bucket keeps its latest exemplar. */
  readonly exemplars: boolean;
  /** With these options, each series keeps native buckets too. */
  readonly native: NativeHistogramOptions | undefined;
}

/**
 * One series of a histogram: the observations of each classic bucket, their
 * sum and count, the latest exemplar of each bucket (if kept) and the same
 * observations in native buckets (if kept). Listed from its first observation on.
 */
export class HistogramSeries extends Series {
  sum = 0;
  count = 0;
  /** Observations of each bucket alone (not cumulative), by bound; those above the last bound are only in `count`. */
  readonly bucketCounts: number[];
  /** The latest exemplar of each bucket, by bound, then +Inf's. */
  readonly exemplars: (StoredExemplar | undefined)[] | undefined;
  /** The observations in native buckets, if the histogram keeps them. */
  native: NativeHistogram | undefined;

  constructor(
    labels: LabelValues,
    key: string,
    private readonly shape: HistogramShape,
    private readonly listing: SeriesListing<HistogramSeries>,
  ) {
    super(labels, key);
    this.bucketCounts = shape.bounds.map(() => 0);
    this.exemplars = shape.exemplars ? Array.from({ length: shape.bounds.length + 1 }, () => undefined) : undefined;
    this.native = shape.native && new NativeHistogram(shape.native);
  }

  /**
   * Adds `times` observations of `value` (a chunk of n tokens is n samples of
   * one latency), with an exemplar of `exemplarLabels` if the histogram keeps them.
   * @throws TypeError if `value` is not a finite number.
   */
  observe(value: number, times = 1, exemplarLabels?: LabelValues): void {
    if (!Number.isFinite(value)) {
      throw new TypeError(`nestjs-llm-metrics: a histogram observes finite numbers, got ${value}`);
    }
    if (!this.listed) {
      this.listing.list(this);
    }
    const bounds = this.shape.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) {
      bucket++;
    }
    if (bucket < bounds.length) {
      this.bucketCounts[bucket] += times;
    }
    this.sum += times === 1 ? value : value * times;
    this.count += times;
    if (exemplarLabels !== undefined && this.exemplars !== undefined) {
      this.exemplars[bucket] = { labelSet: exemplarLabels, value, timestamp: Date.now() / 1000 };
    }
    this.native?.observe(value, times);
  }

  zero(): void {
    this.sum = 0;
    this.count = 0;
    this.bucketCounts.fill(0);
    this.exemplars?.fill(undefined);
    this.native = this.shape.native && new NativeHistogram(this.shape.native);
  }
}
