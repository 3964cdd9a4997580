import type { PricesOption } from '../../src/index.js';

/** Where the gateway sends its requests, and what the tokens cost there. */
export interface GatewayConfig {
  /** The OpenAI-compatible API of the upstream, e.g. `https://api.openai.com/v1` or `http://localhost:8000/v1`. */
  url: string;
  /** Its `provider` label value (default: `UPSTREAM_PROVIDER`, else `openai`). */
  provider?: string;
  /** The key sent upstream (default: `UPSTREAM_API_KEY`, else none). */
  apiKey?: string;
  /** Retries of the `openai` client on 408, 409, 429 and 5xx answers and lost connections (default 2, as the client's). */
  maxRetries?: number;
  /** Prices per million tokens (default: `GATEWAY_PRICES` below). */
  prices?: PricesOption;
}

/**
 * What the sample's models cost, per million tokens: OpenAI's list prices of
 * two of its models, and made-up ones for the mock engine's, so that the
 * gateway in front of the sample shows a spend.
 */
export const GATEWAY_PRICES: PricesOption = {
  currency: 'USD',
  models: {
    'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
    'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
    'mock-llama-3-8b': { input: 0.2, cachedInput: 0.1, output: 0.8 },
    'mock-gpt-small': { input: 0.05, output: 0.2, reasoning: 0.4 },
  },
};

/** The gateway's settings from `UPSTREAM_URL`, `UPSTREAM_PROVIDER`, `UPSTREAM_API_KEY` and `UPSTREAM_MAX_RETRIES`; none without `UPSTREAM_URL`. */
export function gatewayFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig | undefined {
  const url = env.UPSTREAM_URL?.trim();
  if (!url) {
    return undefined;
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new RangeError(`UPSTREAM_URL must be an http(s) URL such as http://localhost:8000/v1, got "${url}"`);
  }
  const retries = env.UPSTREAM_MAX_RETRIES?.trim();
  if (retries && !/^\d{1,2}$/.test(retries)) {
    throw new RangeError(`UPSTREAM_MAX_RETRIES must be a number of retries from 0 to 99, got "${retries}"`);
  }
  return {
    url,
    provider: env.UPSTREAM_PROVIDER?.trim() || undefined,
    apiKey: env.UPSTREAM_API_KEY?.trim() || undefined,
    maxRetries: retries ? Number(retries) : undefined,
  };
}
