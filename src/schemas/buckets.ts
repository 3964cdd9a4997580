import { describeValue, invalidOption } from '../options/option-error.js';

/** Log-spaced histogram bounds, as Dynamo describes them. */
export interface LogBuckets {
  /** The smallest bound above 0 is about `min`·(max/min)^(1/(count−1)); `min` itself is not one. */
  readonly min: number;
  /** The largest bound, rounded. */
  readonly max: number;
  /** Bounds in all, 0 included, before duplicates are dropped. */
  readonly count: number;
}

/** `value` rounded to two significant figures, half away from zero. */
function twoSignificantFigures(value: number): number {
  if (value === 0 || !Number.isFinite(value)) {
    return value;
  }
  const exponent = Math.floor(Math.log10(Math.abs(value))) - 1;
  const rounded = Math.sign(value) * Math.round(Math.abs(value) / 10 ** exponent);
  // Dividing by a power of ten above 1 gives the nearest double (0.0022, not 0.0022000000000000001).
  return exponent < 0 ? rounded / 10 ** -exponent : rounded * 10 ** exponent;
}

/**
 * Dynamo's log-spaced bucket bounds: 0, then for i = 1 … count−1
 * exp(ln min + (ln max − ln min)·i/(count−1)) rounded to two significant
 * figures, consecutive duplicates dropped. `logBuckets(1, 512, 10)` is
 * `[0, 2, 4, 8, 16, 32, 64, 130, 260, 510]`.
 * @throws TypeError unless 0 < min < max and count is an integer of at least 2.
 */
export function logBuckets(min: number, max: number, count: number): number[] {
  if (!isLogBuckets({ min, max, count })) {
    throw new TypeError(
      `nestjs-llm-metrics: log buckets need 0 < min < max and an integer count ≥ 2, got ${describeValue({ min, max, count })}`,
    );
  }
  const bounds = [0];
  const lnMin = Math.log(min);
  const lnMax = Math.log(max);
  for (let i = 1; i < count; i++) {
    const bound = twoSignificantFigures(Math.exp(lnMin + ((lnMax - lnMin) * i) / (count - 1)));
    if (bound !== bounds[bounds.length - 1]) {
      bounds.push(bound);
    }
  }
  return bounds;
}

/** Whether `value` describes log buckets `logBuckets()` can make. */
export function isLogBuckets(value: unknown): value is LogBuckets {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { min, max, count } = value as Record<string, unknown>;
  return (
    typeof min === 'number' &&
    typeof max === 'number' &&
    Number.isFinite(max) &&
    min > 0 &&
    max > min &&
    Number.isSafeInteger(count) &&
    (count as number) >= 2
  );
}

/** Buckets of a histogram, as the options give them: the bounds, or log-spaced ones. */
export type BucketsOption = readonly number[] | LogBuckets;

/**
 * The bounds `buckets` describes: `buckets` itself if it is a non-empty
 * array of finite, strictly increasing numbers, or `logBuckets(min, max, count)`.
 * @throws TypeError naming `option` and the bad value otherwise.
 */
export function resolveBuckets(option: string, buckets: unknown): readonly number[] {
  if (isLogBuckets(buckets)) {
    return logBuckets(buckets.min, buckets.max, buckets.count);
  }
  const valid =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every((bound, i) => typeof bound === 'number' && Number.isFinite(bound) && (i === 0 || bound > (buckets[i - 1] as number)));
  if (!valid) {
    throw invalidOption(
      option,
      'a non-empty array of finite, strictly increasing numbers, or { min, max, count } with 0 < min < max and an integer count ≥ 2',
      buckets,
    );
  }
  return buckets;
}

/** A number read from an environment variable: `undefined` if the variable is unset or empty, `NaN` if it is not a finite number. */
function readNumber(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') {
    return undefined;
  }
  const value = Number(raw);
  return Number.isFinite(value) ? value : Number.NaN;
}

/**
 * Log buckets from Dynamo's `DYN_METRICS_<name>_{MIN,MAX,COUNT}` variables
 * of `env`, each missing one from `defaults`; `undefined` if none is set.
 * Invalid values give `defaults` and a message saying why, as Dynamo does.
 */
export function logBucketsFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  defaults: LogBuckets,
): { buckets?: LogBuckets; invalid?: string } {
  const variables = ['MIN', 'MAX', 'COUNT'].map((part) => `DYN_METRICS_${name}_${part}`);
  const [min, max, count] = variables.map((variable) => readNumber(env[variable]));
  if (min === undefined && max === undefined && count === undefined) {
    return {};
  }
  const buckets = { min: min ?? defaults.min, max: max ?? defaults.max, count: count ?? defaults.count };
  if (!isLogBuckets(buckets)) {
    const given = variables.map((variable) => `${variable}=${JSON.stringify(env[variable] ?? null)}`).join(', ');
    return { buckets: defaults, invalid: `${given} (need 0 < MIN < MAX and an integer COUNT ≥ 2)` };
  }
  return { buckets };
}
