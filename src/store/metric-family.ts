import { type HistogramShape, HistogramSeries } from './histogram-series.js';
import { CounterSeries, GaugeSeries, type LabelValues, type Series } from './series.js';

/** The key of a label set among a family's series: its values, in the family's label order (a model name may hold a control character: it comes first). */
export function labelKey(names: readonly string[], labels: Readonly<Record<string, string | number | undefined>>): string {
  return names.length === 1 ? String(labels[names[0]]) : names.map((name) => labels[name]).join('\u0000');
}

/** The labels of a series of a family with `labelNames`, in its order: each from `own`, else from `requestLabels` (the request labels it carries). */
export function familyLabels(
  labelNames: readonly string[],
  own: Readonly<Record<string, string>>,
  requestLabels: LabelValues,
): LabelValues {
  const labels: Record<string, string> = {};
  for (const name of labelNames) {
    labels[name] = own[name] ?? requestLabels[name];
  }
  return labels;
}

/** `own` labels with the values of the request labels `carried` after them: the labels of a series of a family keyed by `own`'s names and `carried`. */
export function withCarriedLabels(
  own: Readonly<Record<string, string>>,
  requestLabels: LabelValues,
  carried: readonly string[],
): LabelValues {
  const labels: Record<string, string> = { ...own };
  for (const name of carried) {
    labels[name] = requestLabels[name];
  }
  return labels;
}

/** A gauge's value for one label set, as measured when the gauge is read. */
export interface Measured {
  readonly labels: LabelValues;
  readonly value: number;
}

/**
 * One metric of the store: its name, help, type and label names, and its
 * series by label set, listed in the order they first held something (a
 * count, an observation), as prom-client lists a metric's series.
 */
abstract class Family<T extends 'counter' | 'gauge' | 'histogram', S extends Series> {
  protected readonly listed = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: T,
    /** The names of its labels, in the order its series' label sets have them. */
    readonly labelNames: readonly string[],
  ) {}

  /** The series listed, in order. */
  series(): Iterable<S> {
    return this.listed.values();
  }

  /** Lists `series` after the others. */
  list(series: S): void {
    series.listed = true;
    this.listed.set(series.key, series);
  }

  /** Drops every series whose labels `matches` accepts. */
  abstract removeWhere(matches: (labels: LabelValues) => boolean): void;

  /** Back to nothing recorded, as prom-client's `reset()`: every series zero, and unlisted until it holds something again. */
  abstract reset(): void;
}

/** A family whose series are bound (made once, kept by those who record into them) before they are listed. */
abstract class BoundFamily<T extends 'counter' | 'histogram', S extends Series> extends Family<T, S> {
  protected readonly bound = new Map<string, S>();

  /** The series of `labels`, made the first time. */
  protected bind(labels: LabelValues, make: (key: string) => S): S {
    const key = labelKey(this.labelNames, labels);
    let series = this.bound.get(key);
    if (series === undefined) {
      series = make(key);
      this.bound.set(key, series);
    }
    return series;
  }

  /** The series of `labels`, if it is bound (any other labels, e.g. default ones, ignored). */
  find(labels: Readonly<Record<string, string | number | undefined>>): S | undefined {
    return this.bound.get(labelKey(this.labelNames, labels));
  }

  removeWhere(matches: (labels: LabelValues) => boolean): void {
    for (const [key, series] of this.bound) {
      if (matches(series.labels)) {
        this.bound.delete(key);
        this.listed.delete(key);
      }
    }
  }

  reset(): void {
    for (const series of this.bound.values()) {
      series.zero();
      series.listed = false;
    }
    this.listed.clear();
  }
}

/** A counter: series that only go up, each listed from its first count. */
export class CounterFamily extends BoundFamily<'counter', CounterSeries> {
  /** Series listed from the start, at 0, and again after a reset. */
  private readonly pinned: CounterSeries[] = [];

  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'counter', labelNames);
  }

  /** The series of `labels`. */
  counter(labels: LabelValues): CounterSeries {
    return this.bind(labels, (key) => new CounterSeries(labels, key, this));
  }

  /** The series of `labels`, listed at once (at 0), and after every reset. */
  pinnedCounter(labels: LabelValues): CounterSeries {
    const series = this.counter(labels);
    this.pinned.push(series);
    this.list(series);
    return series;
  }

  override reset(): void {
    super.reset();
    for (const series of this.pinned) {
      this.list(series);
    }
  }
}

/** A histogram: series of buckets, each listed from its first observation. */
export class HistogramFamily extends BoundFamily<'histogram', HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly shape: HistogramShape,
  ) {
    super(name, help, 'histogram', labelNames);
  }

  /** The series of `labels`. */
  histogram(labels: LabelValues): HistogramSeries {
    return this.bind(labels, (key) => new HistogramSeries(labels, key, this.shape, this));
  }
}

/** A gauge: measured when it is read, by `measure`; its series are those of the last reading. */
export class GaugeFamily extends Family<'gauge', GaugeSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly measure: () => Iterable<Measured>,
  ) {
    super(name, help, 'gauge', labelNames);
  }

  /** Measures the gauge now: its series, in the order measured (those measured before keep their rendered labels). */
  override series(): Iterable<GaugeSeries> {
    const previous = new Map(this.listed);
    this.listed.clear();
    for (const { labels, value } of this.measure()) {
      const key = labelKey(this.labelNames, labels);
      const series = previous.get(key) ?? new GaugeSeries(labels, key);
      series.value = value;
      this.list(series);
    }
    return this.listed.values();
  }

  /** Nothing to drop: the next reading measures what there is. */
  removeWhere(): void {}

  /** Nothing to reset: a gauge is measured when read. */
  reset(): void {}
}

/** A metric of the store. */
export type MetricFamily = CounterFamily | GaugeFamily | HistogramFamily;
