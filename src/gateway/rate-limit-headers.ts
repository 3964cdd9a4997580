/** The limits a provider reports in `x-ratelimit-*` headers, as the `limit` label names them. */
export const RATE_LIMITS = ['requests', 'tokens'] as const;
export type RateLimit = (typeof RATE_LIMITS)[number];

/** What the headers of one response said of one limit. */
export interface RateLimitReport {
  readonly remaining: number | undefined;
  /** Seconds to the limit's reset. */
  readonly resetSeconds: number | undefined;
}

/** Longest header value read: anything longer is no count or duration. */
const MAX_VALUE_LENGTH = 32;
const COUNT = /^\d{1,15}(?:\.\d{1,6})?$/;
/** A Go-style duration as OpenAI sends it (`1s`, `6m0s`, `20ms`, `1h2m3.5s`), or plain seconds. */
const DURATION =
  /^(?:(\d{1,6}(?:\.\d{1,6})?)h)?(?:(\d{1,6}(?:\.\d{1,6})?)m(?!s))?(?:(\d{1,9}(?:\.\d{1,6})?)s)?(?:(\d{1,9}(?:\.\d{1,6})?)ms)?$/;

/** A count of a header: a non-negative number of at most 15 digits; anything else is none. */
export function parseCount(value: string | null): number | undefined {
  const text = value?.trim();
  return text !== undefined && text.length <= MAX_VALUE_LENGTH && COUNT.test(text) ? Number(text) : undefined;
}

/** A duration of a header in seconds: `6m0s`, `20ms`, or seconds (`1.5`); anything else is none. */
export function parseDurationSeconds(value: string | null): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '' || text.length > MAX_VALUE_LENGTH) {
    return undefined;
  }
  if (COUNT.test(text)) {
    return Number(text);
  }
  const match = DURATION.exec(text);
  if (!match) {
    return undefined;
  }
  const [, hours, minutes, seconds, millis] = match.map((part) => (part === undefined ? 0 : Number(part)));
  return hours * 3600 + minutes * 60 + seconds + millis / 1000;
}

/** What `headers` report of each limit that they name. */
export function readRateLimits(headers: { get(name: string): string | null }): Partial<Record<RateLimit, RateLimitReport>> {
  const reports: Partial<Record<RateLimit, RateLimitReport>> = {};
  for (const limit of RATE_LIMITS) {
    const remaining = parseCount(headers.get(`x-ratelimit-remaining-${limit}`));
    const resetSeconds = parseDurationSeconds(headers.get(`x-ratelimit-reset-${limit}`));
    if (remaining !== undefined || resetSeconds !== undefined) {
      reports[limit] = { remaining, resetSeconds };
    }
  }
  return reports;
}
