import {
  type ExpositionWriter,
  type LabelSet,
  type StoredExemplar,
  type TextFormat,
  escapeLabelValue,
  familyHeader,
  labelPairs,
  renderExemplar,
  renderLabels,
  stringLabels,
} from './exposition-format.js';
import { NativeHistogram, type NativeHistogramOptions } from './native-histogram.js';
import type { ClassicBucketData, NativeBucketsData } from './protobuf-exposition.js';

/*
 * The series of this library's metrics as it renders them itself, each
 * with its label set rendered once, when it is first written: a scrape
 * formats only the values. What they print is what prom-client prints for
 * the same data: its registry's order of series and of labels, its
 * spelling of values and exemplars.
 */

/** What the series of a family share: its name and type, and a histogram's buckets. */
interface FamilyShape {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** The upper bounds of a histogram's buckets, +Inf left out. */
  readonly bounds: readonly number[];
  /** Whether a histogram's buckets keep exemplars. */
  readonly exemplars: boolean;
  /** With these options, a histogram's series keep native buckets too. */
  readonly native?: NativeHistogramOptions;
}

/** The labels of a series' lines after their own (a bucket's `le`): the default labels it lacks, then its own, as prom-client orders them. */
function seriesLabels(labels: Readonly<Record<string, string>>, defaults: LabelSet | undefined): string {
  return [...(defaults ? labelPairs(defaults, labels) : []), ...labelPairs(labels)].join(',');
}

/** One series of a counter or a gauge: its labels, and its value. */
export class SampleSeries {
  value = 0;
  /** The start of its line (name and labels, then a space) in each format, encoded once, for the default labels it was rendered with. */
  private rendered: { readonly defaults: LabelSet | undefined; text?: Buffer; openmetrics?: Buffer } | undefined;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly shape: FamilyShape,
  ) {}

  /** Writes the sample line of the series (an OpenMetrics counter's sample ends in `_total`). */
  write(writer: ExpositionWriter, format: TextFormat, defaults: LabelSet | undefined): void {
    if (this.rendered === undefined || this.rendered.defaults !== defaults) {
      this.rendered = { defaults };
    }
    let prefix = this.rendered[format];
    if (prefix === undefined) {
      const { name, type } = this.shape;
      const sampleName = format === 'openmetrics' && type === 'counter' ? `${name.replace(/_total$/, '')}_total` : name;
      prefix = Buffer.from(`${sampleName}${renderLabels(this.labels, defaults)} `, 'utf8');
      this.rendered[format] = prefix;
    }
    writer.bytes(prefix);
    writer.value(this.value);
    writer.lineFeed();
  }
}

/**
 * The starts of a histogram's lines that all its series share, encoded
 * once: `name_bucket{le="…"` for each bucket, `name_sum`, `name_count`.
 */
class HistogramHeads {
  readonly buckets: readonly Buffer[];
  readonly sum: Buffer;
  readonly count: Buffer;

  constructor({ name, bounds }: FamilyShape) {
    this.buckets = [...bounds, '+Inf'].map((le) => Buffer.from(`${name}_bucket{le="${escapeLabelValue(le)}"`, 'utf8'));
    this.sum = Buffer.from(`${name}_sum`, 'utf8');
    this.count = Buffer.from(`${name}_count`, 'utf8');
  }
}

/**
 * One series of a histogram: the count of each bucket, the sum and count of
 * the observations, and (with exemplars) the latest exemplar of each bucket,
 * observed as prom-client observes them.
 */
export class HistogramSeries {
  sum = 0;
  count = 0;
  /** Observations of each bucket alone (not cumulative), by bound; those above the last bound are only in `count`. */
  private readonly counts: number[];
  /** By bound, then +Inf. */
  private readonly exemplars: (StoredExemplar | undefined)[] | undefined;
  /** The same observations in native buckets, if the histogram keeps them. */
  private readonly native: NativeHistogram | undefined;
  /**
   * The ends of its lines' starts (the same in both formats), encoded once
   * for the default labels they were rendered with: after a bucket's `le`
   * (`,labels} `), and of the sum and count (`{labels} `).
   */
  private rendered: { readonly defaults: LabelSet | undefined; readonly afterLe: Buffer; readonly labels: Buffer } | undefined;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly shape: FamilyShape,
    private readonly heads: HistogramHeads,
    /** Called on the first observation: prom-client lists a series from then on. */
    private readonly onFirstObservation: (series: HistogramSeries) => void,
  ) {
    this.counts = shape.bounds.map(() => 0);
    this.exemplars = shape.exemplars ? Array.from({ length: shape.bounds.length + 1 }, () => undefined) : undefined;
    this.native = shape.native && new NativeHistogram(shape.native);
  }

  /** Adds one observation of `value`, with an exemplar if `exemplarLabels` are given and the histogram keeps them. */
  observe(value: number, exemplarLabels?: LabelSet): void {
    if (this.count === 0) {
      this.onFirstObservation(this);
    }
    const bounds = this.shape.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) {
      bucket++;
    }
    if (bucket < bounds.length) {
      this.counts[bucket] += 1;
    }
    this.sum += value;
    this.count += 1;
    if (exemplarLabels && this.exemplars) {
      this.exemplars[bucket] = { labelSet: exemplarLabels, value, timestamp: Date.now() / 1000 };
    }
    this.native?.observe(value);
  }

  /** The native buckets, if the histogram keeps them. */
  nativeBuckets(): NativeBucketsData | undefined {
    return this.native?.snapshot();
  }

  /** The buckets, each with the observations up to its bound (those of the buckets below included) and its exemplar, +Inf last. */
  buckets(): ClassicBucketData[] {
    const { bounds } = this.shape;
    let cumulative = 0;
    return [...bounds, Number.POSITIVE_INFINITY].map((upperBound, i) => {
      cumulative = i < bounds.length ? cumulative + this.counts[i] : this.count;
      const exemplar = this.exemplars?.[i];
      return {
        upperBound,
        cumulativeCount: cumulative,
        exemplar: exemplar && { labels: stringLabels(exemplar.labelSet), value: exemplar.value, timestampMs: exemplar.timestamp * 1000 },
      };
    });
  }

  /** Writes the bucket, sum and count lines of the series. */
  write(writer: ExpositionWriter, format: TextFormat, defaults: LabelSet | undefined): void {
    let rendered = this.rendered;
    if (rendered === undefined || rendered.defaults !== defaults) {
      const labels = seriesLabels(this.labels, defaults);
      rendered = {
        defaults,
        afterLe: Buffer.from(labels ? `,${labels}} ` : '} ', 'utf8'),
        labels: Buffer.from(labels ? `{${labels}} ` : ' ', 'utf8'),
      };
      this.rendered = rendered;
    }
    const { heads, shape } = this;
    const exemplars = format === 'openmetrics' ? this.exemplars : undefined;
    let cumulative = 0;
    for (let i = 0; i <= shape.bounds.length; i++) {
      cumulative = i < shape.bounds.length ? cumulative + this.counts[i] : this.count;
      writer.bytes(heads.buckets[i]);
      writer.bytes(rendered.afterLe);
      writer.value(cumulative);
      const exemplar = exemplars?.[i];
      if (exemplar) {
        writer.text(renderExemplar(exemplar));
      }
      writer.lineFeed();
    }
    writer.bytes(heads.sum);
    writer.bytes(rendered.labels);
    writer.value(this.sum);
    writer.lineFeed();
    writer.bytes(heads.count);
    writer.bytes(rendered.labels);
    writer.value(this.count);
    writer.lineFeed();
  }
}

/** The key of a label set: its values, in the order of `names` (only a model name can hold a control character, and it comes first). */
function keyOf(names: readonly string[], labels: Readonly<Record<string, string | number | undefined>>): string {
  return names.map((name) => labels[name]).join('\u0000');
}

/**
 * The series of one metric as this library renders them, by their labels,
 * in prom-client's order: a counter's or gauge's in the order they were
 * first written, a histogram's in the order they were first observed.
 */
export class ExposedFamily {
  private readonly shape: FamilyShape;
  private readonly heads: HistogramHeads;
  private readonly samples = new Map<string, SampleSeries>();
  /** Every histogram series bound, observed or not. */
  private readonly histograms = new Map<string, HistogramSeries>();
  /** The histogram series observed, in the order of their first observation. */
  private readonly observed = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    readonly help: string,
    type: FamilyShape['type'],
    /** The names of its labels, in the order its series' label sets have them. */
    private readonly labelNames: readonly string[],
    histogram: Pick<FamilyShape, 'bounds' | 'exemplars' | 'native'> = { bounds: [], exemplars: false },
  ) {
    this.shape = { name, type, ...histogram };
    this.heads = new HistogramHeads(this.shape);
  }

  /** The counter or gauge series of `labels`, added after the others if it is new. */
  sample(labels: Readonly<Record<string, string>>): SampleSeries {
    const key = keyOf(this.labelNames, labels);
    let series = this.samples.get(key);
    if (!series) {
      series = new SampleSeries(labels, this.shape);
      this.samples.set(key, series);
    }
    return series;
  }

  /** Sets a gauge to `values`, in their order: series not among them are dropped. */
  setSamples(values: Iterable<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>): void {
    const previous = new Map(this.samples);
    this.samples.clear();
    for (const { labels, value } of values) {
      const key = keyOf(this.labelNames, labels);
      const series = previous.get(key) ?? new SampleSeries(labels, this.shape);
      series.value = value;
      this.samples.set(key, series);
    }
  }

  /** The histogram series of `labels`, listed once it is first observed. */
  histogram(labels: Readonly<Record<string, string>>): HistogramSeries {
    const key = keyOf(this.labelNames, labels);
    let series = this.histograms.get(key);
    if (!series) {
      series = new HistogramSeries(labels, this.shape, this.heads, (observed) => this.observed.set(key, observed));
      this.histograms.set(key, series);
    }
    return series;
  }

  /** Drops the series of `labels`. */
  remove(labels: Readonly<Record<string, string>>): void {
    const key = keyOf(this.labelNames, labels);
    this.samples.delete(key);
    this.histograms.delete(key);
    this.observed.delete(key);
  }

  /** The native buckets of the histogram series with `labels` (any others, e.g. default labels, ignored), if it keeps them. */
  nativeBuckets(labels: Readonly<Record<string, string | number | undefined>>): NativeBucketsData | undefined {
    return this.histograms.get(keyOf(this.labelNames, labels))?.nativeBuckets();
  }

  get type(): FamilyShape['type'] {
    return this.shape.type;
  }

  /** Writes the `# HELP` and `# TYPE` lines. */
  writeHeader(writer: ExpositionWriter, format: TextFormat): void {
    writer.text(`${familyHeader(this.shape.name, this.help, this.shape.type, format)}\n`);
  }

  /** The series to render, in order. */
  series(): Iterable<SampleSeries | HistogramSeries> {
    return this.shape.type === 'histogram' ? this.observed.values() : this.samples.values();
  }
}

/**
 * Cuts a long render into slices of about `sliceMs` milliseconds of work,
 * so that a scrape of many series never holds the event loop longer: the
 * renderer asks `due()` after each series, and `pause()`s when it says so.
 */
export class RenderSlices {
  private sliceStart = performance.now();
  private sinceCheck = 0;
  private longest = 0;
  private count = 0;

  constructor(private readonly sliceMs = 1) {}

  /**
   * Whether this slice has run its time, after a piece of work of `weight`:
   * the clock is read once 16 units of work were done (a series written in
   * text is one, a metric encoded in protobuf 16).
   */
  due(weight = 1): boolean {
    this.sinceCheck += weight;
    if (this.sinceCheck < 16) {
      return false;
    }
    this.sinceCheck = 0;
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Lets the event loop run what waits (I/O, timers), then starts the next slice. */
  async pause(): Promise<void> {
    this.end();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  /** Ends the last slice: call once the render is done. */
  end(): void {
    this.longest = Math.max(this.longest, performance.now() - this.sliceStart);
    this.count += 1;
  }

  /** The longest slice so far, in ms, and how many there were. */
  get stats(): { readonly longestMs: number; readonly slices: number } {
    return { longestMs: this.longest, slices: this.count };
  }
}
