import type { GenAiRequestLabels } from '../opentelemetry/gen-ai-metrics.js';
import type { ResolvedServiceOptions } from '../options/service-options.js';
import { type SloTargets, withTargets } from '../options/slo-options.js';
import { type HistogramBuckets, type HistogramKey, type HistogramRule, type MetricSpec, type RecordingRule } from '../schemas/schema.js';
import { logBucketsFromEnv, resolveBuckets } from '../schemas/buckets.js';
import { BUCKETS_ENV_NAMES, DYNAMO_FRONTEND_BUCKETS } from '../schemas/dynamo-frontend.schema.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type Measured, type MetricFamily, labelKey } from '../store/metric-family.js';
import type { LabelValues } from '../store/series.js';
import { CostCounts, CostLedger } from '../gateway/cost-ledger.js';
import type { RateLimit } from '../gateway/rate-limit-headers.js';
import type { UpstreamFamilies, UpstreamSeries } from '../gateway/upstream-series.js';
import { LOCAL_PROVIDER } from '../labels/provider-label.policy.js';
import { type CounterBinding, type RequestCounters, RequestSeries } from './request-series.js';

/** The latency histograms: their samples carry exemplars, and they keep native buckets with the option. */
const LATENCY_RULES: ReadonlySet<HistogramRule> = new Set(['duration', 'timeToFirstToken', 'timeToFirstContentToken', 'interTokenLatency']);

/** The histograms of upstream calls: their series are an upstream call's, by model and provider. */
const UPSTREAM_RULES: ReadonlySet<HistogramRule> = new Set([
  'upstreamDuration',
  'upstreamTimeToHeaders',
  'upstreamTimeToFirstChunk',
  'upstreamTimePerOutputChunk',
]);

/** The histograms that gain the targets of an objective as bucket bounds, so that PromQL over their buckets agrees with its counter. */
const SLO_BOUNDS: Partial<Record<HistogramKey, keyof SloTargets>> = {
  requestDuration: 'duration',
  embeddingLatency: 'duration',
  timeToFirstToken: 'timeToFirstToken',
  interTokenLatency: 'timePerOutputToken',
};

/** What the gauges measure when they are read. */
export interface GaugeSources {
  /** The series of every model and request-label values. */
  series(): Iterable<RequestSeries>;
  /** Clients that went away before their answer ended, so far. */
  disconnects(): number;
  /** Each model's readiness (the `modelReady` option), its model label value applied; none if there is no such option. */
  readiness(): Iterable<Measured>;
  /** The series of every model, provider and request-label values of the upstream calls. */
  upstream(): Iterable<UpstreamSeries>;
}

/** A histogram of the schema, and the request labels it carries. */
interface HistogramBinding {
  readonly rule: HistogramRule;
  readonly family: HistogramFamily;
  readonly carried: readonly string[];
}

/** The buckets of each histogram: the option's, else the environment's (with `bucketsFromEnv`), else the schema's. */
function bucketsOf(options: ResolvedServiceOptions, warn: (message: string) => void): HistogramBuckets {
  const buckets: HistogramBuckets = { ...options.buckets };
  if (!options.bucketsFromEnv) {
    return buckets;
  }
  const invalid: string[] = [];
  for (const spec of options.schema.metrics) {
    const key = spec.type === 'histogram' ? spec.buckets.key : undefined;
    const envName = key && BUCKETS_ENV_NAMES[key];
    if (key !== undefined && envName !== undefined && buckets[key] === undefined) {
      const fromEnv = logBucketsFromEnv(options.env, envName, DYNAMO_FRONTEND_BUCKETS[key]);
      if (fromEnv.invalid) {
        invalid.push(fromEnv.invalid);
      } else if (fromEnv.buckets) {
        buckets[key] = fromEnv.buckets;
      }
    }
  }
  if (invalid.length > 0) {
    warn(`nestjs-llm-metrics: invalid bucket variables, the default buckets are used instead: ${invalid.join('; ')}`);
  }
  return buckets;
}

/**
 * The families of a schema's table in the store, made from the options:
 * each metric's name, labels (the schema's, `error_type` with the option,
 * the request labels it carries) and buckets; the gauges measured from the
 * requests' series when read; and how a request's series bind to them.
 */
export class SchemaFamilies {
  /** In the schema's order, the label overflow counter last (with request labels). */
  readonly families: MetricFamily[] = [];
  readonly counters: RequestCounters;
  /** With the `upstream` option: what an upstream call records into. */
  readonly upstream: UpstreamFamilies | undefined;
  private readonly ledger: CostLedger | undefined;
  private readonly histograms: HistogramBinding[] = [];
  private readonly upstreamHistograms: HistogramBinding[] = [];
  /** The request labels each family carries. */
  private readonly carried = new Map<MetricFamily, readonly string[]>();
  private readonly counterBindings = new Map<RecordingRule, CounterBinding>();

  constructor(
    private readonly options: ResolvedServiceOptions,
    sources: GaugeSources,
    warn: (message: string) => void,
  ) {
    const buckets = bucketsOf(options, warn);
    for (const spec of options.schema.metrics) {
      if (
        (spec.tokens && !options.streamingMetrics) ||
        (spec.answer !== undefined && !options.answerMetrics[spec.answer]) ||
        (spec.slo && options.slo === undefined) ||
        (spec.gateway !== undefined && options[spec.gateway] === undefined) ||
        (spec.rule === 'ready' && !options.modelReady)
      ) {
        continue;
      }
      this.add(spec, buckets, sources);
    }
    this.ledger =
      options.prices &&
      new CostLedger(
        options.prices,
        this.counterBindings.get('cost'),
        this.counterBindings.get('pricedTokens'),
        this.counterBindings.get('unpricedTokens'),
      );
    this.upstream = options.upstream && {
      requests: this.counterBindings.get('upstreamRequests'),
      retries: this.counterBindings.get('upstreamRetries'),
      histograms: this.upstreamHistograms,
      ledger: this.ledger,
    };
    const requests = this.counterBindings.get('requests');
    this.counters = {
      requests: requests && { ...requests, withErrorType: requests.family.labelNames.includes('error_type') },
      started: this.counterBindings.get('requestsStarted'),
      cancellations: this.counterBindings.get('cancellations'),
      rejections: this.counterBindings.get('rejections'),
      outputTokens: this.counterBindings.get('outputTokensLive'),
      finishReasons: this.counterBindings.get('finishReasons'),
      toolCalls: this.counterBindings.get('toolCalls'),
      reasoningTokens: this.counterBindings.get('reasoningTokens'),
      cachedPromptTokens: this.cachedPromptTokens(),
      sloRequests: this.counterBindings.get('sloRequests'),
      goodputTokens: this.counterBindings.get('goodputTokens'),
    };
  }

  /** The counter of cached prompt tokens, and whether it counts only the requests that succeed. */
  private cachedPromptTokens(): RequestCounters['cachedPromptTokens'] {
    const always = this.counterBindings.get('cachedPromptTokens');
    const onSuccess = this.counterBindings.get('cachedPromptTokensOnSuccess');
    return always ? { ...always, onSuccessOnly: false } : onSuccess && { ...onSuccess, onSuccessOnly: true };
  }

  /** The request labels the family of `rule` carries (the first of the schema with that rule). */
  carriedBy(rule: RecordingRule): readonly string[] {
    const spec = this.options.schema.metrics.find((metric) => metric.rule === rule);
    return (spec && this.options.carriedLabels.get(spec.suffix)) ?? [];
  }

  /** The request labels each OpenTelemetry instrument carries: those of the Prometheus families it matches. */
  genAiRequestLabels(): GenAiRequestLabels {
    const carried = (rule: RecordingRule) => this.carriedBy(rule);
    return {
      duration: carried('duration'),
      timeToFirstToken: carried('timeToFirstToken'),
      timePerOutputToken: carried('interTokenLatency'),
      inputTokens: [...carried('inputTokensOnSuccess'), ...carried('inputTokens')],
      outputTokens: [...carried('outputTokensOnSuccess'), ...carried('outputTokens')],
      sloRequests: carried('sloRequests'),
      goodputTokens: carried('goodputTokens'),
    };
  }

  /** The series of `model` and `requestLabels` (their values `labelValues`), bound to every histogram of the schema. */
  newSeries(model: string, labelValues: readonly string[], requestLabels: LabelValues): RequestSeries {
    const histograms: Partial<Record<HistogramRule, ReturnType<HistogramFamily['histogram']>>> = {};
    const cost = this.ledger && new CostCounts(model, LOCAL_PROVIDER, requestLabels, this.ledger);
    const series = new RequestSeries(model, labelValues, requestLabels, histograms, this.counters, cost);
    for (const { rule, family, carried } of this.histograms) {
      // Series of a histogram that does not carry a request label are shared by that label's values.
      histograms[rule] = family.histogram(series.labelsOf(carried));
    }
    return series;
  }

  /** Drops the series of the families that carry a forgotten request-label value: by label, the values forgotten. */
  forget(expired: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [family, carried] of this.carried) {
      const labels = carried.filter((name) => expired.has(name));
      if (labels.length > 0) {
        family.removeWhere((values) => labels.some((name) => expired.get(name)!.has(values[name])));
      }
    }
  }

  private add(spec: MetricSpec, buckets: HistogramBuckets, sources: GaugeSources): void {
    const { prefix, schema, errorType, exemplars, nativeHistograms } = this.options;
    const name = `${prefix}${schema.infix}${spec.suffix}`;
    const schemaLabels: readonly string[] =
      spec.rule === 'requests' && errorType && !spec.labels.includes('error_type') ? [...spec.labels, 'error_type'] : spec.labels;
    const carried = this.options.carriedLabels.get(spec.suffix) ?? [];
    const labelNames = [...schemaLabels, ...carried];
    let family: MetricFamily;
    if (spec.type === 'histogram') {
      const { key, defaults } = spec.buckets;
      const latency = LATENCY_RULES.has(spec.rule);
      const objective = SLO_BOUNDS[key];
      const bounds = resolveBuckets(`buckets.${key}`, buckets[key] ?? defaults);
      family = new HistogramFamily(name, spec.help, labelNames, {
        bounds: objective && this.options.slo ? withTargets(bounds, this.options.slo.targetsOf(objective)) : bounds,
        exemplars: exemplars && latency,
        native: latency ? nativeHistograms : undefined,
      });
      const bindings = UPSTREAM_RULES.has(spec.rule) ? this.upstreamHistograms : this.histograms;
      if (bindings.some(({ rule }) => rule === spec.rule)) {
        throw new Error(`nestjs-llm-metrics: the schema "${schema.name}" has two histograms of the rule "${spec.rule}"`);
      }
      bindings.push({ rule: spec.rule, family, carried });
    } else if (spec.type === 'counter') {
      family = new CounterFamily(name, spec.help, labelNames);
      this.counterBindings.set(spec.rule, { family, carried });
    } else {
      family = new GaugeFamily(name, spec.help, labelNames, () => measureGauge(spec.rule, carried, sources));
    }
    this.families.push(family);
    if (carried.length > 0) {
      this.carried.set(family, carried);
    }
  }
}

/** What a gauge of `rule` measures now: by model (and the request labels it carries), in the order the series were made. */
function measureGauge(rule: RecordingRule, carried: readonly string[], sources: GaugeSources): Iterable<Measured> {
  if (rule === 'disconnects') {
    return [{ labels: {}, value: sources.disconnects() }];
  }
  if (rule === 'ready') {
    return sources.readiness();
  }
  if (rule === 'rateLimitRemaining' || rule === 'rateLimitReset') {
    return measureRateLimits(rule, carried, sources.upstream());
  }
  if (rule === 'prices') {
    return measurePrices(sources);
  }
  // The series of a model with several values of a label the gauge does not carry add up; forgotten ones are gone.
  const names = ['model', ...carried];
  const totals = new Map<string, { labels: LabelValues; value: number }>();
  for (const series of sources.series()) {
    const value = rule === 'queued' ? series.queued : series.inProgress;
    const labels = series.labelsOf(carried);
    const key = labelKey(names, labels);
    const total = totals.get(key);
    if (total) {
      total.value += value;
    } else {
      totals.set(key, { labels, value });
    }
  }
  return totals.values();
}

/** The rate limits the providers last reported: of the series a gauge's labels do not tell apart, the latest report. */
function measureRateLimits(
  rule: 'rateLimitRemaining' | 'rateLimitReset',
  carried: readonly string[],
  upstream: Iterable<UpstreamSeries>,
): Measured[] {
  const latest = new Map<string, { labels: LabelValues; value: number; at: number }>();
  const names = ['model', 'provider', 'limit', ...carried];
  for (const series of upstream) {
    for (const [limit, state] of Object.entries(series.rateLimits) as [RateLimit, NonNullable<UpstreamSeries['rateLimits'][RateLimit]>][]) {
      const value = rule === 'rateLimitRemaining' ? state.remaining : state.resetSeconds;
      if (value === undefined) {
        continue;
      }
      const labels = { ...series.labelsOf(carried), limit };
      const key = labelKey(names, labels);
      const known = latest.get(key);
      if (known === undefined || state.at >= known.at) {
        latest.set(key, { labels, value, at: state.at });
      }
    }
  }
  return [...latest.values()];
}

/** Each price a cost was counted at, once per model, provider and token type. */
function measurePrices(sources: GaugeSources): Measured[] {
  const prices = new Map<string, Measured>();
  for (const { cost } of [...sources.series(), ...sources.upstream()]) {
    for (const measured of cost?.pricesInUse() ?? []) {
      const { model, provider, token_type } = measured.labels;
      prices.set(labelKey(['model', 'provider', 'token_type'], { model, provider, token_type }), measured);
    }
  }
  return [...prices.values()];
}
