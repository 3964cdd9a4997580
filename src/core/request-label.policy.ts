import { describeValue } from './describe-value.js';
import { MAX_MODEL_NAME_LENGTH, allowListPredicate } from './model-label.policy.js';
import { type RecordingRule, type Schema } from './schemas.js';

/** The label value recorded for a value that is refused, or new once the cap is full. */
export const OTHER_LABEL_VALUE = 'other';
/** Default cap on the distinct values of one request label. */
export const DEFAULT_MAX_LABEL_VALUES = 100;
/** Default time (ms) after which a label value not seen is forgotten, with its series. */
export const DEFAULT_LABEL_TTL_MS = 60 * 60 * 1000;
/** Longest label value (in UTF-16 code units) recorded as itself; longer ones are `other`. */
export const MAX_LABEL_VALUE_LENGTH = MAX_MODEL_NAME_LENGTH;

/**
 * A label read from each request (a tenant, a team, an API key's name),
 * bounded like the model label.
 */
export interface RequestLabelSpec<Source = unknown> {
  /** Reads the value from the request (a header, a property an auth guard set, …); throwing counts as missing. */
  from(source: Source): unknown;
  /** Only these values (or those the predicate accepts) are recorded as themselves; others are `other`. */
  allow?: readonly string[] | ((value: string) => boolean);
  /** Cap on distinct values (default 100); new values beyond it are `other` until one expires. */
  max?: number;
  /** The value recorded when the request has none (`undefined`, `null` or `''`); default `''`. */
  missing?: string;
  /**
   * The metric families that carry the label, by name without the prefix
   * (e.g. `'requests_total'`, `'request_duration_seconds'`). Default:
   * `requests_total` and the token histograms and counters.
   */
  metrics?: readonly string[];
}

/** The rules of the families that carry a request label unless its `metrics` says otherwise. */
const LABELLED_BY_DEFAULT: ReadonlySet<RecordingRule> = new Set<RecordingRule>([
  'requests',
  'inputTokens',
  'inputTokensOnSuccess',
  'outputTokens',
  'outputTokensOnSuccess',
  'outputTokensLive',
  'cachedTokens',
]);
/** Families measured per request: those that can carry a request label. */
const NOT_PER_REQUEST: ReadonlySet<RecordingRule> = new Set<RecordingRule>(['ready', 'disconnects']);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Names a request label cannot take: the built-in labels, and those Prometheus gives a meaning. */
const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set(['model', 'endpoint', 'request_type', 'status', 'error_type', 'le', 'quantile']);
/** A lone surrogate cannot be encoded in UTF-8; a control character is no one's name. */
const MALFORMED = /[\p{Cs}\p{Cc}]/u;

function invalid(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`nestjs-llm-metrics: option "${option}" must be ${expected}, got ${describeValue(value)}`);
}

/** Whether `value` is usable as a label value: a non-empty, short, well-formed string. */
function isWellFormed(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_LABEL_VALUE_LENGTH && !MALFORMED.test(value);
}

/**
 * Checks the `labels` option against `schema` and returns, for each of its
 * metric families by suffix, the names of the request labels it carries.
 * @throws TypeError naming the option (`labels.<name>…`) and what is wrong with it.
 */
export function resolveRequestLabels(labels: unknown, schema: Schema): Map<string, string[]> {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalid('labels', 'an object of label specs { from, allow?, max?, missing?, metrics? }', labels);
  }
  const families = new Map(schema.metrics.filter(({ rule }) => !NOT_PER_REQUEST.has(rule)).map((spec) => [spec.suffix, spec.rule]));
  const carried = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(labels as Record<string, unknown>)) {
    const option = `labels.${name}`;
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw invalid('labels', `keyed by label names matching ${LABEL_NAME} (not starting with "__")`, name);
    }
    if (RESERVED_LABEL_NAMES.has(name)) {
      throw invalid('labels', `keyed by names other than ${[...RESERVED_LABEL_NAMES].join(', ')}`, name);
    }
    if (typeof spec !== 'object' || spec === null) {
      throw invalid(option, 'a label spec { from, allow?, max?, missing?, metrics? }', spec);
    }
    const { from, allow, max, missing, metrics } = spec as Partial<RequestLabelSpec>;
    if (typeof from !== 'function') {
      throw invalid(`${option}.from`, 'a function (request) => value', from);
    }
    if (
      allow !== undefined &&
      typeof allow !== 'function' &&
      !(Array.isArray(allow) && allow.every((value) => typeof value === 'string'))
    ) {
      throw invalid(`${option}.allow`, 'an array of values or a function (value) => boolean', allow);
    }
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1)) {
      throw invalid(`${option}.max`, 'a positive integer', max);
    }
    if (missing !== undefined && missing !== '' && !isWellFormed(missing)) {
      throw invalid(`${option}.missing`, `a string of at most ${MAX_LABEL_VALUE_LENGTH} characters, without control characters`, missing);
    }
    if (metrics !== undefined && !(Array.isArray(metrics) && metrics.every((family) => families.has(family)))) {
      throw invalid(
        `${option}.metrics`,
        `an array of metric names of the "${schema.name}" schema measured per request (${[...families.keys()].join(', ')})`,
        metrics,
      );
    }
    for (const [suffix, rule] of families) {
      if (metrics ? metrics.includes(suffix) : LABELLED_BY_DEFAULT.has(rule)) {
        carried.set(suffix, [...(carried.get(suffix) ?? []), name]);
      }
    }
  }
  return carried;
}

/** The checks of the `labelTtl` option: milliseconds, positive (`Infinity`: never). @throws TypeError otherwise. */
export function assertLabelTtl(labelTtl: unknown): number {
  if (typeof labelTtl !== 'number' || !(labelTtl > 0)) {
    throw invalid('labelTtl', 'a positive number of milliseconds (Infinity: values never expire)', labelTtl);
  }
  return labelTtl;
}

/** How one label value is used: when it was last seen, and by how many requests in flight. */
interface ValueUse {
  lastSeen: number;
  inFlight: number;
}

/**
 * One request label: turns what `from` reads into a bounded value (itself,
 * `missing`, or `other`), and remembers when each value was last used so
 * that a value idle for the TTL can be forgotten.
 */
class RequestLabelPolicy {
  readonly missing: string;
  private overflowCount = 0;
  private readonly max: number;
  private readonly isAllowed: (value: string) => boolean;
  /** Every value in use, `missing` and `other` included; only the others count towards `max`. */
  private readonly values = new Map<string, ValueUse>();
  private admitted = 0;

  constructor(
    readonly name: string,
    private readonly spec: RequestLabelSpec,
  ) {
    this.max = spec.max ?? DEFAULT_MAX_LABEL_VALUES;
    this.missing = spec.missing ?? '';
    this.isAllowed = allowListPredicate(spec.allow);
  }

  /** The value of `source`, taken for a request starting at `now`; `makeRoom` may free a place when the cap is full. */
  acquire(source: unknown, now: number, makeRoom: () => void): string {
    const value = this.valueOf(source, makeRoom);
    const use = this.values.get(value);
    if (use) {
      use.lastSeen = now;
      use.inFlight += 1;
    } else {
      this.values.set(value, { lastSeen: now, inFlight: 1 });
    }
    return value;
  }

  /** How many values were mapped to `other` so far. */
  get overflow(): number {
    return this.overflowCount;
  }

  /** A request with `value` ended at `now`. */
  release(value: string, now: number): void {
    const use = this.values.get(value);
    if (use) {
      use.lastSeen = now;
      use.inFlight -= 1;
    }
  }

  /** Forgets the values idle since `before` and returns them. */
  expire(before: number): Set<string> {
    const expired = new Set<string>();
    for (const [value, use] of this.values) {
      if (use.inFlight === 0 && use.lastSeen <= before) {
        this.values.delete(value);
        expired.add(value);
        if (value !== this.missing && value !== OTHER_LABEL_VALUE) {
          this.admitted -= 1;
        }
      }
    }
    return expired;
  }

  private valueOf(source: unknown, makeRoom: () => void): string {
    let raw: unknown;
    try {
      raw = this.spec.from(source);
    } catch {
      return this.missing;
    }
    if (raw === undefined || raw === null || raw === '' || raw === this.missing || raw === OTHER_LABEL_VALUE) {
      return raw === OTHER_LABEL_VALUE ? OTHER_LABEL_VALUE : this.missing;
    }
    if (!isWellFormed(raw) || !this.allows(raw)) {
      return this.overflowed();
    }
    if (this.values.has(raw)) {
      return raw;
    }
    if (this.admitted >= this.max) {
      makeRoom();
      if (this.admitted >= this.max) {
        return this.overflowed();
      }
    }
    this.admitted += 1;
    return raw;
  }

  private allows(value: string): boolean {
    try {
      return this.isAllowed(value) === true;
    } catch {
      return false;
    }
  }

  private overflowed(): string {
    this.overflowCount += 1;
    return OTHER_LABEL_VALUE;
  }
}

/**
 * The request labels of a service: each request's values, bounded, and the
 * values to forget once idle for `ttl` milliseconds.
 */
export class RequestLabels {
  readonly names: readonly string[];
  private readonly policies: readonly RequestLabelPolicy[];
  private lastExpiry = Number.NEGATIVE_INFINITY;

  constructor(
    specs: Readonly<Record<string, RequestLabelSpec>>,
    private readonly ttl: number,
  ) {
    this.policies = Object.entries(specs).map(([name, spec]) => new RequestLabelPolicy(name, spec));
    this.names = this.policies.map(({ name }) => name);
  }

  /** The values of `source`, one per label in `names` order, taken for a request starting at `now`. */
  acquire(source: unknown, now: number, makeRoom: () => void): string[] {
    return this.policies.map((policy) => policy.acquire(source, now, makeRoom));
  }

  /** A request with `values` ended at `now`. */
  release(values: readonly string[], now: number): void {
    this.policies.forEach((policy, i) => policy.release(values[i], now));
  }

  /**
   * Forgets the values idle for the TTL at `now`, at most once a second (or
   * once a TTL, if shorter): for each label, the values forgotten, if any.
   */
  expire(now: number): Set<string>[] | undefined {
    if (now - this.lastExpiry < Math.min(this.ttl, 1000)) {
      return undefined;
    }
    this.lastExpiry = now;
    const expired = this.policies.map((policy) => policy.expire(now - this.ttl));
    return expired.some((values) => values.size > 0) ? expired : undefined;
  }

  /** Each label, and how many of its values were recorded as `other` so far. */
  overflows(): [label: string, count: number][] {
    return this.policies.map((policy) => [policy.name, policy.overflow]);
  }
}
