import { type AllowList, MAX_LABEL_VALUE_LENGTH as MAX_LENGTH, allowListPredicate, isUsableLabelValue } from './label-value.js';

/** The label value recorded for a value that is refused, or new once the cap is full. */
export const OTHER_LABEL_VALUE = 'other';
/** Default cap on the distinct values of one request label. */
export const DEFAULT_MAX_LABEL_VALUES = 100;
/** Default time (ms) after which a label value not seen is forgotten, with its series. */
export const DEFAULT_LABEL_TTL_MS = 60 * 60 * 1000;
/** Longest label value (in UTF-16 code units) recorded as itself; longer ones are `other`. */
export const MAX_LABEL_VALUE_LENGTH = MAX_LENGTH;

/**
 * A label read from each request (a tenant, a team, an API key's name),
 * bounded like the model label.
 */
export interface RequestLabelSpec<Source = unknown> {
  /** Reads the value from the request (a header, a property an auth guard set, …); throwing counts as missing. */
  from(source: Source): unknown;
  /** Only these values (or those the predicate accepts) are recorded as themselves; others are `other`. */
  allow?: AllowList;
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
  private readonly max: number;
  private readonly isAllowed: (value: string) => boolean;
  /** Every value in use, `missing` and `other` included; only the others count towards `max`. */
  private readonly values = new Map<string, ValueUse>();
  private admitted = 0;

  constructor(
    readonly name: string,
    private readonly spec: RequestLabelSpec,
    /** Told each time a value is recorded as `other`. */
    private readonly onOverflow: () => void,
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
    if (!isUsableLabelValue(raw) || !this.isAllowed(raw)) {
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

  private overflowed(): string {
    this.onOverflow();
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

  /** @param onOverflow told the label's name each time one of its values is recorded as `other`. */
  constructor(
    specs: Readonly<Record<string, RequestLabelSpec>>,
    private readonly ttl: number,
    onOverflow: (label: string) => void,
  ) {
    this.policies = Object.entries(specs).map(([name, spec]) => new RequestLabelPolicy(name, spec, () => onOverflow(name)));
    this.names = this.policies.map(({ name }) => name);
  }

  /** The values of `source`, one per label in `names` order, taken for a request starting at `now`. */
  acquire(source: unknown, now: number, makeRoom: () => void): string[] {
    return this.policies.map((policy) => policy.acquire(source, now, makeRoom));
  }

  /** The value of each label (in `names` order) of what has none: its `missing` value. */
  missingValues(): string[] {
    return this.policies.map(({ missing }) => missing);
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
}
