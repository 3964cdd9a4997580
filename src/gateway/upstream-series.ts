import { type ErrorType, REQUEST_STATUS_SUCCESS, type Status } from '../labels/label-values.js';
import type { HistogramRule } from '../schemas/schema.js';
import type { HistogramSeries } from '../store/histogram-series.js';
import { type CounterFamily, type HistogramFamily, familyLabels, withCarriedLabels } from '../store/metric-family.js';
import type { CounterSeries, LabelValues } from '../store/series.js';
import { CostCounts, type CostLedger, type FamilyBinding } from './cost-ledger.js';
import type { RateLimit, RateLimitReport } from './rate-limit-headers.js';

/** The families of the schema's upstream rows that an upstream call records into. */
export interface UpstreamFamilies {
  readonly requests: FamilyBinding<CounterFamily> | undefined;
  readonly retries: FamilyBinding<CounterFamily> | undefined;
  readonly histograms: readonly (FamilyBinding<HistogramFamily> & { readonly rule: HistogramRule })[];
  /** With the `prices` option. */
  readonly ledger: CostLedger | undefined;
}

/** What a provider last reported of a limit, and when (ms). */
export interface RateLimitState extends RateLimitReport {
  readonly at: number;
}

/**
 * What the upstream calls of one model and provider (and one value of each
 * request label) record into: the histogram series (bound once), the
 * counters by outcome (bound the first time), the last rate limits reported
 * (read when the gauges are), and their cost.
 */
export class UpstreamSeries {
  readonly histograms: Partial<Record<HistogramRule, HistogramSeries>> = {};
  readonly cost: CostCounts | undefined;
  readonly rateLimits: Partial<Record<RateLimit, RateLimitState>> = {};
  /** By status and error type. */
  private readonly outcomes = new Map<string, CounterSeries>();
  private retrySeries: CounterSeries | undefined;

  constructor(
    readonly model: string,
    readonly provider: string,
    /** The value of each request label, in the order of the `labels` option. */
    readonly labelValues: readonly string[],
    readonly requestLabels: LabelValues,
    private readonly families: UpstreamFamilies,
  ) {
    for (const { rule, family, carried } of families.histograms) {
      this.histograms[rule] = family.histogram(this.labelsOf(carried));
    }
    this.cost = families.ledger && new CostCounts(model, provider, requestLabels, families.ledger);
  }

  /** `{ model, provider, …the carried request labels }`. */
  labelsOf(carried: readonly string[]): LabelValues {
    return withCarriedLabels({ model: this.model, provider: this.provider }, this.requestLabels, carried);
  }

  /** Counts a call that ended, with its status and error type (`''` on success). */
  countCall(status: Status, errorType: ErrorType | ''): void {
    const binding = this.families.requests;
    if (binding === undefined) {
      return;
    }
    const key = status === REQUEST_STATUS_SUCCESS ? status : errorType;
    let series = this.outcomes.get(key);
    if (series === undefined) {
      const own = { model: this.model, provider: this.provider, status, error_type: errorType };
      series = binding.family.counter(familyLabels(binding.family.labelNames, own, this.requestLabels));
      this.outcomes.set(key, series);
    }
    series.add();
  }

  /** Counts a call that retried an earlier one. */
  countRetry(): void {
    const binding = this.families.retries;
    if (binding !== undefined) {
      (this.retrySeries ??= binding.family.counter(this.labelsOf(binding.carried))).add();
    }
  }

  /** Keeps what a response's headers reported of its limits, at `now` (ms). */
  reportRateLimits(reports: Partial<Record<RateLimit, RateLimitReport>>, now: number): void {
    for (const [limit, report] of Object.entries(reports) as [RateLimit, RateLimitReport][]) {
      const previous = this.rateLimits[limit];
      this.rateLimits[limit] = {
        remaining: report.remaining ?? previous?.remaining,
        resetSeconds: report.resetSeconds ?? previous?.resetSeconds,
        at: now,
      };
    }
  }
}
