import { type PriceTable, type ResolvedPrice, TOKEN_TYPES, type TokenType } from '../options/gateway-options.js';
import type { TokenUsage } from '../openai/openai-payload.js';
import { type CounterFamily, type Measured, familyLabels } from '../store/metric-family.js';
import type { CounterSeries, LabelValues } from '../store/series.js';

/** A family of the gateway's rows, and the request labels it carries. */
export interface FamilyBinding<F> {
  readonly family: F;
  readonly carried: readonly string[];
}

/** The tokens of a usage by the type a price prices: cached input apart from the rest, reasoning apart from the rest of the output. */
export function tokensByType(usage: TokenUsage): Record<TokenType, number> | undefined {
  const { prompt_tokens: prompt, completion_tokens: completion } = usage;
  if (prompt === undefined && completion === undefined) {
    return undefined;
  }
  // A usage that claims more cached (or reasoning) tokens than it has is clamped: no token is priced twice.
  const cached = Math.min(usage.prompt_tokens_details?.cached_tokens ?? 0, prompt ?? 0);
  const reasoning = Math.min(usage.completion_tokens_details?.reasoning_tokens ?? 0, completion ?? 0);
  return { input: (prompt ?? 0) - cached, cached_input: cached, output: (completion ?? 0) - reasoning, reasoning };
}

/** One unit of a cost total: a price's micro-unit per million tokens, 10⁻¹² of the currency. */
const UNITS_PER_CURRENCY = 1e12;

/**
 * The counters of cost, shared by every `CostCounts`: each cost series'
 * exact total, in integer units of 10⁻¹² of its currency (a price in
 * micro-units per million tokens, times tokens), so that no sum is ever a
 * float's; the series shows it in the currency.
 */
export class CostLedger {
  /** By cost series: its exact total since it was made or reset. */
  private readonly exact = new WeakMap<CounterSeries, bigint>();

  constructor(
    readonly prices: PriceTable,
    readonly cost: FamilyBinding<CounterFamily> | undefined,
    readonly priced: FamilyBinding<CounterFamily> | undefined,
    readonly unpriced: FamilyBinding<CounterFamily> | undefined,
  ) {}

  /** Adds `units` to `series`' exact total (from zero again after a reset, which unlists it). */
  addCost(series: CounterSeries, units: bigint): void {
    const total = (series.listed ? (this.exact.get(series) ?? 0n) : 0n) + units;
    this.exact.set(series, total);
    series.setTotal(Number(total) / UNITS_PER_CURRENCY);
  }
}

/**
 * What the tokens of one model from one provider (and one value of each
 * request label) cost: priced at its price, or counted as unpriced.
 */
export class CostCounts {
  private resolved: ResolvedPrice | undefined | null = null;
  private costSeries: CounterSeries | undefined;
  private readonly pricedSeries: Partial<Record<TokenType, CounterSeries>> = {};
  private readonly unpricedSeries: Partial<Record<TokenType, CounterSeries>> = {};
  /** Whether a usage was priced: the price gauge lists only the prices in use. */
  private used = false;

  constructor(
    readonly model: string,
    readonly provider: string,
    private readonly requestLabels: LabelValues,
    private readonly ledger: CostLedger,
  ) {}

  /** The price of this model from this provider, looked up once. */
  get price(): ResolvedPrice | undefined {
    if (this.resolved === null) {
      this.resolved = this.ledger.prices.priceOf(this.provider, this.model);
    }
    return this.resolved;
  }

  /**
   * Counts what one finished request or upstream call used: its `usage`,
   * priced if the model has a price, else unpriced; without a usage, the
   * `countedOutputTokens` of its stream, unpriced.
   */
  record(usage: TokenUsage | undefined, countedOutputTokens: number): void {
    const tokens = usage && tokensByType(usage);
    if (tokens === undefined) {
      if (countedOutputTokens > 0) {
        this.count(this.unpricedSeries, this.ledger.unpriced, 'output', countedOutputTokens);
      }
      return;
    }
    const price = this.price;
    if (price === undefined) {
      for (const type of TOKEN_TYPES) {
        this.count(this.unpricedSeries, this.ledger.unpriced, type, tokens[type]);
      }
      return;
    }
    let units = 0n;
    for (const type of TOKEN_TYPES) {
      units += BigInt(tokens[type]) * price.microPerMillion[type];
      this.count(this.pricedSeries, this.ledger.priced, type, tokens[type]);
    }
    const cost = this.ledger.cost;
    if (cost !== undefined) {
      this.costSeries ??= cost.family.counter(this.labels(cost, { currency: price.currency }));
      this.ledger.addCost(this.costSeries, units);
    }
    this.used = true;
  }

  /** The prices this model was priced at, by token type, once a usage was: the price gauge's values. */
  pricesInUse(): Measured[] {
    const price = this.price;
    if (!this.used || price === undefined) {
      return [];
    }
    return TOKEN_TYPES.map((type) => ({
      labels: { model: this.model, provider: this.provider, currency: price.currency, token_type: type },
      value: price.perMillion[type],
    }));
  }

  private count(
    series: Partial<Record<TokenType, CounterSeries>>,
    binding: FamilyBinding<CounterFamily> | undefined,
    type: TokenType,
    tokens: number,
  ): void {
    if (binding !== undefined && tokens > 0) {
      (series[type] ??= binding.family.counter(this.labels(binding, { token_type: type }))).add(tokens);
    }
  }

  private labels(binding: FamilyBinding<CounterFamily>, own: Readonly<Record<string, string>>): LabelValues {
    return familyLabels(binding.family.labelNames, { model: this.model, provider: this.provider, ...own }, this.requestLabels);
  }
}
