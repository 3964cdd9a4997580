import type { HistogramSeries } from '../store/histogram-series.js';
import type { HistogramFamily, MetricFamily } from '../store/metric-family.js';
import type { Series } from '../store/series.js';
import type { ExpositionWriter } from './exposition-writer.js';
import type { RenderSlices } from './render-slices.js';
import { type LabelSet, type TextFormat, escapeLabelValue, familyHeader, labelPairs, renderExemplar, sampleName } from './text-format.js';

/*
 * The store's families as text or OpenMetrics, as prom-client's registry
 * renders what their prom-client view gives it (`get()`): each series'
 * labels rendered and encoded once, when it is first written, so that a
 * scrape copies them and formats only the values.
 */

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const SPACE = 0x20;

/** The label pairs of `series` (its own, then the default labels it lacks), encoded once for the default labels they were rendered with. */
function labelBytes(series: Series, defaults: LabelSet | undefined): Uint8Array {
  let rendered = series.rendered;
  if (rendered === undefined || rendered.defaults !== defaults) {
    rendered = { defaults, bytes: Buffer.from(labelPairs(series.labels, defaults), 'utf8') };
    series.rendered = rendered;
  }
  return rendered.bytes;
}

/** Writes `{pairs} `, or a space alone if there are no pairs. */
function writeLabels(writer: ExpositionWriter, pairs: Uint8Array): void {
  if (pairs.length > 0) {
    writer.byte(OPEN_BRACE);
    writer.bytes(pairs);
    writer.byte(CLOSE_BRACE);
  }
  writer.byte(SPACE);
}

/** The starts of a histogram's lines that all its series share, in each format: `name_bucket{le="…"` for each bucket, `name_sum`, `name_count`. */
interface HistogramHeads {
  readonly buckets: readonly Uint8Array[];
  readonly sum: Uint8Array;
  readonly count: Uint8Array;
}

/** The heads of `family`'s lines, encoded once a render. */
function histogramHeads({ name, shape }: HistogramFamily): HistogramHeads {
  return {
    buckets: [...shape.bounds, '+Inf'].map((le) => Buffer.from(`${name}_bucket{le="${escapeLabelValue(le)}"`, 'utf8')),
    sum: Buffer.from(`${name}_sum`, 'utf8'),
    count: Buffer.from(`${name}_count`, 'utf8'),
  };
}

/** Writes the bucket, sum and count lines of one histogram series (exemplars in OpenMetrics only). */
function writeHistogramSeries(
  writer: ExpositionWriter,
  heads: HistogramHeads,
  series: HistogramSeries,
  pairs: Uint8Array,
  format: TextFormat,
): void {
  const exemplars = format === 'openmetrics' ? series.exemplars : undefined;
  const bounds = series.bucketCounts.length;
  let cumulative = 0;
  for (let i = 0; i <= bounds; i++) {
    cumulative = i < bounds ? cumulative + series.bucketCounts[i] : series.count;
    writer.bytes(heads.buckets[i]);
    if (pairs.length > 0) {
      writer.byte(COMMA);
      writer.bytes(pairs);
    }
    writer.byte(CLOSE_BRACE);
    writer.byte(SPACE);
    writer.value(cumulative);
    const exemplar = exemplars?.[i];
    if (exemplar !== undefined) {
      writer.text(renderExemplar(exemplar));
    }
    writer.lineFeed();
  }
  writer.bytes(heads.sum);
  writeLabels(writer, pairs);
  writer.value(series.sum);
  writer.lineFeed();
  writer.bytes(heads.count);
  writeLabels(writer, pairs);
  writer.value(series.count);
  writer.lineFeed();
}

/**
 * Writes `families` to `writer` in `format` with a registry's `defaults`
 * labels, as prom-client's registry renders them (in the text format, each
 * family after a blank line); a render of many series is cut into
 * `slices`, between which the event loop runs.
 */
export async function renderFamilies(
  writer: ExpositionWriter,
  families: readonly MetricFamily[],
  format: TextFormat,
  defaults: LabelSet | undefined,
  slices: RenderSlices,
): Promise<void> {
  for (const family of families) {
    if (format === 'text' && !writer.empty) {
      writer.lineFeed();
    }
    writer.text(familyHeader(family.name, family.help, family.type, format));
    if (family.type === 'histogram') {
      const heads = histogramHeads(family);
      for (const series of family.series()) {
        writeHistogramSeries(writer, heads, series, labelBytes(series, defaults), format);
        if (slices.due()) {
          await slices.pause();
        }
      }
    } else {
      const head = Buffer.from(sampleName(family.name, family.type, format), 'utf8');
      for (const series of family.series()) {
        writer.bytes(head);
        writeLabels(writer, labelBytes(series, defaults));
        writer.value(series.value);
        writer.lineFeed();
        if (slices.due()) {
          await slices.pause();
        }
      }
    }
  }
}
