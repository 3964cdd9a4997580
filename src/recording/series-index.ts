import type { RequestLabels } from '../labels/request-label.policy.js';
import { UpstreamSeries } from '../gateway/upstream-series.js';
import type { UpstreamLink } from '../gateway/upstream-link.js';
import type { LabelValues } from '../store/series.js';
import type { RequestSeries } from './request-series.js';
import type { SchemaFamilies } from './schema-families.js';

const NO_LABEL_VALUES: readonly string[] = [];

/**
 * The series of each model and request-label values, made the first time,
 * and forgotten with every series that carries a request-label value once
 * that value has been idle for the TTL.
 */
export class SeriesIndex {
  private readonly byKey = new Map<string, RequestSeries>();
  private readonly upstreamByKey = new Map<string, UpstreamSeries>();
  /** Each request label's value for what has none. */
  private readonly missingValues: readonly string[];

  constructor(
    private readonly families: SchemaFamilies,
    private readonly requestLabels: RequestLabels | undefined,
  ) {
    this.missingValues = requestLabels?.missingValues() ?? NO_LABEL_VALUES;
  }

  /** The request-label values of `source` for a request starting now, by `clock` (none without the `labels` option). */
  acquireLabels(source: unknown, clock: () => number): readonly string[] {
    if (this.requestLabels === undefined) {
      return NO_LABEL_VALUES;
    }
    const now = clock();
    return this.requestLabels.acquire(source, now, () => this.expire(now));
  }

  /** The series of `model` and `labelValues` (one per request label). */
  seriesFor(model: string, labelValues: readonly string[]): RequestSeries {
    // Label values hold no control character: the last ones of the key are theirs, whatever the model's name.
    const key = labelValues.length === 0 ? model : `${model}\u0000${labelValues.join('\u0000')}`;
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = this.families.newSeries(model, labelValues, this.labelsOf(labelValues));
      this.byKey.set(key, series);
    }
    return series;
  }

  /** The request labels by name, of their `values`. */
  private labelsOf(values: readonly string[]): LabelValues {
    const labels: Record<string, string> = {};
    this.requestLabels?.names.forEach((name, i) => {
      labels[name] = values[i];
    });
    return labels;
  }

  /**
   * The series of upstream calls of `model` to `provider`, for the request of
   * `link`'s request-label values (a call made outside any: each label's `missing` value).
   * @throws Error without the `upstream` option.
   */
  upstreamSeriesFor(model: string, provider: string, link: UpstreamLink | undefined): UpstreamSeries {
    const families = this.families.upstream;
    if (families === undefined) {
      throw new Error('nestjs-llm-metrics: upstream calls are recorded with the `upstream` option only');
    }
    const labelValues = link?.labelValues ?? this.missingValues;
    // The model last: it alone may hold the separator.
    const key = [provider, ...labelValues, model].join('\u0000');
    let series = this.upstreamByKey.get(key);
    if (series === undefined) {
      series = new UpstreamSeries(model, provider, labelValues, link?.requestLabels ?? this.labelsOf(labelValues), families);
      this.upstreamByKey.set(key, series);
    }
    return series;
  }

  /** Every series of upstream calls, in the order they were made. */
  upstreamValues(): Iterable<UpstreamSeries> {
    return this.upstreamByKey.values();
  }

  /** Every series, in the order they were made. */
  values(): Iterable<RequestSeries> {
    return this.byKey.values();
  }

  /**
   * Forgets the request-label values idle for the TTL at `now` (at most once
   * a second), the series that have one, and the families' series that carry one.
   */
  expire(now: number): void {
    const requestLabels = this.requestLabels;
    const expired = requestLabels?.expire(now);
    if (!requestLabels || !expired) {
      return;
    }
    const byLabel = new Map<string, ReadonlySet<string>>();
    requestLabels.names.forEach((name, i) => {
      if (expired[i].size > 0) {
        byLabel.set(name, expired[i]);
      }
    });
    for (const index of [this.byKey, this.upstreamByKey]) {
      for (const [key, series] of index) {
        if (series.labelValues.some((value, i) => expired[i].has(value))) {
          index.delete(key);
        }
      }
    }
    this.families.forget(byLabel);
  }
}
