import { ENDPOINT_NAME, Endpoint } from '../labels/label-values.js';
import { assertKnownKeys, invalidOption, isObject, nearestName } from './option-error.js';

/** Service-level targets of requests, in seconds: each one a service-level objective, counted met or missed. */
export interface SloTargets {
  /** A stream's time to its first token. */
  timeToFirstToken?: number;
  /** A stream's time per output token after the first: (duration − time to first token) ÷ (output tokens − 1). */
  timePerOutputToken?: number;
  /** The request's duration, from its start to the end of its answer. */
  duration?: number;
}

/** The targets of an endpoint, of some models on it, and of the tiers a request can ask for. */
export interface EndpointSloTargets extends SloTargets {
  /** Targets of these models (their `model` label values) on the endpoint, over the endpoint's. */
  models?: Readonly<Record<string, SloTargets>>;
  /** Targets of the requests whose `sloTierFrom` names one of these tiers, over the endpoint's and the model's. */
  tiers?: Readonly<Record<string, SloTargets>>;
}

/**
 * The `slo` option: targets by endpoint (`chat_completions`, `embeddings`,
 * a custom endpoint's name), and `default` for every endpoint, each
 * objective on its own: `{ default: { duration: 60 }, chat_completions: {
 * timeToFirstToken: 0.5, models: { 'llama-3-70b': { timeToFirstToken: 2 } } } }`.
 */
export type SloOption = Readonly<Record<string, EndpointSloTargets>>;

/** The key of each objective in the targets. */
type TargetKey = keyof SloTargets;
const TARGET_KEYS: readonly TargetKey[] = ['timeToFirstToken', 'timePerOutputToken', 'duration'];
const KNOWN_ENDPOINTS: readonly string[] = ['default', ...Object.values(Endpoint)];

/** Checks an endpoint key: `default`, or an endpoint name; a near miss of a known one (`chatCompletions`) is a typo. */
function checkEndpointKey(key: string): void {
  if (KNOWN_ENDPOINTS.includes(key)) {
    return;
  }
  const nearest = nearestName(key, KNOWN_ENDPOINTS);
  if (nearest !== undefined || !ENDPOINT_NAME.test(key)) {
    throw new TypeError(
      `nestjs-llm-metrics: unknown endpoint "slo.${key}"` +
        (nearest !== undefined ? `: did you mean "${nearest}"?` : `: an endpoint name matches ${ENDPOINT_NAME}, or is "default"`),
    );
  }
}

/** The targets of one endpoint and model, resolved: each objective's target, or none. */
export interface ResolvedSloTargets {
  readonly timeToFirstToken: number | undefined;
  readonly timePerOutputToken: number | undefined;
  readonly duration: number | undefined;
}

/** Checks targets at `path`: each a positive, finite number of seconds. */
function checkTargets(path: string, value: unknown, extraKeys: readonly string[] = []): Record<string, unknown> {
  if (!isObject(value)) {
    throw invalidOption(path, `an object of targets in seconds { ${TARGET_KEYS.join('?, ')}? }`, value);
  }
  assertKnownKeys(path, value, [...TARGET_KEYS, ...extraKeys]);
  for (const key of TARGET_KEYS) {
    const target = value[key];
    if (target !== undefined && !(typeof target === 'number' && Number.isFinite(target) && target > 0)) {
      throw invalidOption(`${path}.${key}`, 'a positive number of seconds', target);
    }
  }
  return value;
}

/**
 * Service-level objectives, checked at start-up: the targets of each
 * endpoint and model, and the bucket bounds each latency histogram gains so
 * that PromQL over its buckets agrees with the objectives' counters.
 */
export class SloPolicy {
  /** By endpoint, model label value and tier (`''` for none): the targets, resolved once. */
  private readonly resolved = new Map<string, Map<string, Map<string, ResolvedSloTargets | undefined>>>();

  /** Every tier a target names: the only values `sloTierFrom` can select, so that a request cannot make targets up. */
  private readonly tiers: ReadonlySet<string>;

  private constructor(
    private readonly option: SloOption,
    private readonly tierFrom: ((source: unknown) => unknown) | undefined,
  ) {
    this.tiers = new Set(Object.values(option).flatMap((endpoint) => Object.keys(endpoint.tiers ?? {})));
  }

  /**
   * The `slo` option, checked; `undefined` without it.
   * @throws TypeError naming the faulty option (`slo.chat_completions.duration`) and its value.
   */
  static of(option: unknown, tierFrom?: (source: unknown) => unknown): SloPolicy | undefined {
    if (option === undefined) {
      return undefined;
    }
    if (!isObject(option)) {
      throw invalidOption('slo', 'an object of targets by endpoint (and `default`)', option);
    }
    for (const [endpoint, targets] of Object.entries(option)) {
      checkEndpointKey(endpoint);
      const checked = checkTargets(`slo.${endpoint}`, targets, endpoint === 'default' ? ['tiers'] : ['models', 'tiers']);
      for (const [key, what] of [
        ['models', 'model'],
        ['tiers', 'tier'],
      ] as const) {
        const nested = checked[key];
        if (nested !== undefined) {
          if (!isObject(nested)) {
            throw invalidOption(`slo.${endpoint}.${key}`, `an object of targets by ${what}`, nested);
          }
          for (const [name, nestedTargets] of Object.entries(nested)) {
            checkTargets(`slo.${endpoint}.${key}.${name}`, nestedTargets);
          }
        }
      }
    }
    return new SloPolicy(option as SloOption, tierFrom);
  }

  /** The tier `source` (the request) asks for through `sloTierFrom`: a configured tier's name, else none (an extractor that throws included). */
  tierOf(source: unknown): string | undefined {
    if (this.tierFrom === undefined) {
      return undefined;
    }
    try {
      const tier = this.tierFrom(source);
      return typeof tier === 'string' && this.tiers.has(tier) ? tier : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The targets of requests to `endpoint` recorded as `model`, of `tier` if
   * they asked for one; each objective the most specific layer names: the
   * endpoint's tier, the model, the endpoint, `default`'s tier, `default`.
   * None if no objective applies.
   */
  targetsFor(endpoint: string, model: string, tier?: string): ResolvedSloTargets | undefined {
    let byModel = this.resolved.get(endpoint);
    if (byModel === undefined) {
      byModel = new Map();
      this.resolved.set(endpoint, byModel);
    }
    let byTier = byModel.get(model);
    if (byTier === undefined) {
      byTier = new Map();
      byModel.set(model, byTier);
    }
    const tierKey = tier ?? '';
    if (byTier.has(tierKey)) {
      return byTier.get(tierKey);
    }
    const own = <T>(record: Readonly<Record<string, T>> | undefined, name: string | undefined) =>
      record !== undefined && name !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
    const byEndpoint = endpoint === 'default' ? undefined : own(this.option, endpoint);
    const byDefault = this.option.default;
    const layers = [byDefault, own(byDefault?.tiers, tier), byEndpoint, own(byEndpoint?.models, model), own(byEndpoint?.tiers, tier)];
    const pick = (key: TargetKey) => layers.reduce<number | undefined>((target, layer) => layer?.[key] ?? target, undefined);
    const targets = {
      timeToFirstToken: pick('timeToFirstToken'),
      timePerOutputToken: pick('timePerOutputToken'),
      duration: pick('duration'),
    };
    const any = Object.values(targets).some((target) => target !== undefined);
    // Bounded: one entry per endpoint, model label value and configured tier, each bounded already.
    byTier.set(tierKey, any ? targets : undefined);
    return any ? targets : undefined;
  }

  /** Every target of `key` the option names, anywhere: bounds the histogram of that measurement gains. */
  targetsOf(key: TargetKey): number[] {
    const targets: number[] = [];
    for (const endpoint of Object.values(this.option)) {
      if (endpoint[key] !== undefined) {
        targets.push(endpoint[key]);
      }
      for (const nested of [...Object.values(endpoint.models ?? {}), ...Object.values(endpoint.tiers ?? {})]) {
        if (nested[key] !== undefined) {
          targets.push(nested[key]);
        }
      }
    }
    return targets;
  }
}

/** `bounds` with `targets` added: sorted, each once. */
export function withTargets(bounds: readonly number[], targets: readonly number[]): number[] {
  return [...new Set([...bounds, ...targets])].sort((a, b) => a - b);
}
