import { isUsableLabelValue } from '../labels/label-value.js';
import { PROVIDER_NAME } from '../labels/provider-label.policy.js';
import { assertKnownKeys, invalidOption, isObject } from './option-error.js';

/** The `upstream` option: record the calls made through `LlmMetricsService.fetch()`, and the gateway's overhead. */
export interface UpstreamOptions {
  /**
   * The providers recorded under their own name (`gen_ai.provider.name` values
   * such as `openai`, `anthropic`, `aws.bedrock`, or your own); any other is
   * `other`. Default: those `prices` names, then the first 16 named to `fetch()`.
   */
  providers?: readonly string[];
}

/** Prices of one model, per million tokens, in the currency of the `prices` option (or its own). */
export interface TokenPrices {
  /** Input tokens not served from the prompt cache. */
  input: number;
  /** Output tokens (reasoning tokens too, unless `reasoning` prices them apart). */
  output: number;
  /** Input tokens served from the prompt cache (default: `input`). */
  cachedInput?: number;
  /** Reasoning tokens (default: `output`). */
  reasoning?: number;
  /** The currency of these prices (default: the option's `currency`). */
  currency?: string;
}

/**
 * The `prices` option: what tokens cost, per million, by model (its `model`
 * label value), and by provider over that: `{ currency: 'USD', models: {
 * 'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 } } }`.
 * A price has at most 6 decimals, so that every cost is an exact integer of micro-units.
 */
export interface PricesOption {
  /** The currency of the prices (default `USD`). */
  currency?: string;
  models?: Readonly<Record<string, TokenPrices>>;
  /** Prices of a provider's models, over those of `models`: `{ azure: { 'gpt-4o': { … } } }`. */
  providers?: Readonly<Record<string, Readonly<Record<string, TokenPrices>>>>;
}

/** The token types a price has, as the `token_type` label names them. */
export const TOKEN_TYPES = ['input', 'cached_input', 'output', 'reasoning'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

/** A price, checked: per million tokens of each type, as given, and in integer micro-units of its currency. */
export interface ResolvedPrice {
  readonly currency: string;
  readonly perMillion: Readonly<Record<TokenType, number>>;
  readonly microPerMillion: Readonly<Record<TokenType, bigint>>;
}

const PRICE_KEYS: readonly string[] = ['input', 'output', 'cachedInput', 'reasoning', 'currency'];
const CURRENCY = /^[A-Za-z][A-Za-z0-9_]{0,15}$/;
const DEFAULT_CURRENCY = 'USD';
/** Highest price per million tokens taken: a billion of the currency. */
const MAX_PRICE = 1e9;

function checkCurrency(option: string, currency: unknown): string {
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
    throw invalidOption(option, `a currency code matching ${CURRENCY}, such as "USD"`, currency);
  }
  return currency;
}

/** A price per million tokens in integer micro-units: refused unless it is exact (at most 6 decimals). */
function microUnits(option: string, price: unknown): bigint {
  const micro = typeof price === 'number' ? Math.round(price * 1e6) : NaN;
  if (!(typeof price === 'number' && price >= 0 && price <= MAX_PRICE && Number((micro / 1e6).toFixed(6)) === price)) {
    throw invalidOption(option, `a price per million tokens from 0 to ${MAX_PRICE}, with at most 6 decimals`, price);
  }
  return BigInt(micro);
}

/** Where each token type's price is given: its own key, else the one it defaults to. */
const PRICE_FIELDS: Readonly<Record<TokenType, readonly [own: string, fallback?: string]>> = {
  input: ['input'],
  cached_input: ['cachedInput', 'input'],
  output: ['output'],
  reasoning: ['reasoning', 'output'],
};

function checkPrice(option: string, value: unknown, currency: string): ResolvedPrice {
  if (!isObject(value)) {
    throw invalidOption(option, 'prices per million tokens { input, output, cachedInput?, reasoning?, currency? }', value);
  }
  assertKnownKeys(option, value, PRICE_KEYS);
  const perMillion = {} as Record<TokenType, number>;
  const microPerMillion = {} as Record<TokenType, bigint>;
  for (const type of TOKEN_TYPES) {
    const [own, fallback] = PRICE_FIELDS[type];
    const key = value[own] === undefined && fallback !== undefined ? fallback : own;
    microPerMillion[type] = microUnits(`${option}.${key}`, value[key]);
    perMillion[type] = value[key] as number;
  }
  const priceCurrency = value.currency === undefined ? currency : checkCurrency(`${option}.currency`, value.currency);
  return { currency: priceCurrency, perMillion, microPerMillion };
}

/** Checks the model keys of a table of prices at `option`. */
function checkModelPrices(option: string, table: unknown, currency: string): Map<string, ResolvedPrice> {
  if (!isObject(table)) {
    throw invalidOption(option, 'an object of prices by model', table);
  }
  const prices = new Map<string, ResolvedPrice>();
  for (const [model, price] of Object.entries(table)) {
    if (!isUsableLabelValue(model, true)) {
      throw invalidOption(option, 'keyed by model names of 1 to 256 characters', model);
    }
    prices.set(model, checkPrice(`${option}.${model}`, price, currency));
  }
  return prices;
}

/** The prices of the `prices` option, checked at start-up: the price of each model, of each provider's. */
export class PriceTable {
  private constructor(
    private readonly byModel: ReadonlyMap<string, ResolvedPrice>,
    private readonly byProvider: ReadonlyMap<string, ReadonlyMap<string, ResolvedPrice>>,
  ) {}

  /**
   * The `prices` option, checked; `undefined` without it.
   * @throws TypeError naming the faulty option (`prices.models.gpt-4o.input`) and its value.
   */
  static of(option: unknown): PriceTable | undefined {
    if (option === undefined) {
      return undefined;
    }
    if (!isObject(option)) {
      throw invalidOption('prices', '{ currency?, models?, providers? } of prices per million tokens', option);
    }
    assertKnownKeys('prices', option, ['currency', 'models', 'providers']);
    const currency = option.currency === undefined ? DEFAULT_CURRENCY : checkCurrency('prices.currency', option.currency);
    const byModel = option.models === undefined ? new Map() : checkModelPrices('prices.models', option.models, currency);
    const byProvider = new Map<string, Map<string, ResolvedPrice>>();
    if (option.providers !== undefined) {
      if (!isObject(option.providers)) {
        throw invalidOption('prices.providers', 'an object of prices by provider, then model', option.providers);
      }
      for (const [provider, table] of Object.entries(option.providers)) {
        if (!PROVIDER_NAME.test(provider)) {
          throw invalidOption('prices.providers', `keyed by provider names matching ${PROVIDER_NAME}`, provider);
        }
        byProvider.set(provider, checkModelPrices(`prices.providers.${provider}`, table, currency));
      }
    }
    return new PriceTable(byModel, byProvider);
  }

  /** The providers the prices name. */
  get providers(): readonly string[] {
    return [...this.byProvider.keys()];
  }

  /** The price of `model` (a label value) from `provider`: the provider's, else the model's; none if it has no price. */
  priceOf(provider: string, model: string): ResolvedPrice | undefined {
    return this.byProvider.get(provider)?.get(model) ?? this.byModel.get(model);
  }
}

/** The `upstream` option, checked: the configured providers, if any; `undefined` when off. */
export function checkUpstream(option: unknown): { providers: readonly string[] | undefined } | undefined {
  if (option === undefined || option === false) {
    return undefined;
  }
  if (option === true) {
    return { providers: undefined };
  }
  if (!isObject(option)) {
    throw invalidOption('upstream', 'a boolean or { providers? }', option);
  }
  assertKnownKeys('upstream', option, ['providers']);
  const { providers } = option;
  if (
    providers !== undefined &&
    !(Array.isArray(providers) && providers.every((name) => typeof name === 'string' && PROVIDER_NAME.test(name)))
  ) {
    throw invalidOption('upstream.providers', `an array of provider names matching ${PROVIDER_NAME}`, providers);
  }
  return { providers: providers as readonly string[] | undefined };
}
