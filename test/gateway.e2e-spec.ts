import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import type { PricesOption, SchemaName } from '../src/index.js';
import { hasSample, sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';
import { SCRIPTED_USAGE, SLOW_FIRST_CHUNK_MS, type ScriptedUpstream, startScriptedUpstream } from './support/scripted-upstream.js';

const PREFIX: Record<SchemaName, string> = { 'dynamo-0.2.1': 'nv_llm_http_service_', 'dynamo-frontend': 'dynamo_frontend_' };
const PRICE = { input: 0.15, cachedInput: 0.075, output: 0.6 };
const PRICES: PricesOption = { currency: 'USD', models: { ok: PRICE, flaky: PRICE, slow: PRICE, breaking: PRICE, failing: PRICE } };
/** What a scripted answer of `tokens` output tokens costs, in USD: its usage times the prices. */
const costOf = (tokens: number) =>
  ((SCRIPTED_USAGE.prompt - SCRIPTED_USAGE.cached) * PRICE.input + SCRIPTED_USAGE.cached * PRICE.cachedInput + tokens * PRICE.output) / 1e6;

const schemas: SchemaName[] = ['dynamo-0.2.1', 'dynamo-frontend'];
const cases = ADAPTERS.flatMap((adapter) => schemas.map((schema) => [adapter, schema] as const));

describe.each(cases)('the sample as a gateway, called with the openai client (%s, %s)', (adapter, schema) => {
  const P = PREFIX[schema];
  let upstream: ScriptedUpstream;
  let app: RunningApp;
  let client: OpenAI;
  let text: string;
  const ask = [{ role: 'user' as const, content: 'Hello' }];

  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    app = await startApp(
      AppModule.register({
        upstream: { url: upstream.url, provider: 'openai', maxRetries: 2, prices: PRICES },
        apiKeys: { 'sk-acme': 'acme', 'sk-beta': 'beta' },
        metrics: { schema },
      }),
      { adapter },
    );
    client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'sk-acme', maxRetries: 0, timeout: 10_000 });
    const beta = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'sk-beta', maxRetries: 0, timeout: 10_000 });

    // Answers: 3 unary (2 of acme, 1 of beta), 2 streams; a retried 429; a 500 three times over; a slow first chunk.
    await client.chat.completions.create({ model: 'ok', messages: ask, max_tokens: 4 });
    await client.chat.completions.create({ model: 'ok', messages: ask, max_tokens: 6 });
    await beta.chat.completions.create({ model: 'ok', messages: ask, max_tokens: 4 });
    for (const model of ['ok', 'slow']) {
      const stream = await client.chat.completions.create({ model, messages: ask, max_tokens: 5, stream: true });
      for await (const chunk of stream) {
        void chunk;
      }
    }
    await client.chat.completions.create({ model: 'flaky', messages: ask, max_tokens: 4 });
    await expect(client.chat.completions.create({ model: 'failing', messages: ask })).rejects.toMatchObject({ status: 500 });
    // A stream that breaks midway: the client sees it fail.
    const broken = await client.chat.completions.create({ model: 'breaking', messages: ask, max_tokens: 5, stream: true });
    await expect(
      (async () => {
        for await (const chunk of broken) {
          void chunk;
        }
      })(),
    ).rejects.toThrow();
    // Calls to a model that is priced nowhere, with headers no provider sends.
    await client.chat.completions.create({ model: 'hostile', messages: ask, max_tokens: 3 });
    text = await eventually(
      () => scrape(app.baseUrl),
      (scraped) => sumOf(scraped, `${P}requests_total`) >= 9,
    );
  });

  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  it('counts every upstream attempt by its status, and the retries among them', () => {
    const calls = (model: string, labels: Record<string, string>) =>
      valueOf(text, `${P}upstream_requests_total`, { model, provider: 'openai', ...labels });
    expect(calls('ok', { status: 'success', error_type: '' })).toBe(4);
    expect(calls('flaky', { status: 'error', error_type: 'overload' })).toBe(1);
    expect(calls('flaky', { status: 'success', error_type: '' })).toBe(1);
    expect(calls('failing', { status: 'error', error_type: 'internal' })).toBe(3);
    expect(calls('breaking', { status: 'error', error_type: 'internal' })).toBe(1);
    expect(valueOf(text, `${P}upstream_retries_total`, { model: 'flaky', provider: 'openai' })).toBe(1);
    expect(valueOf(text, `${P}upstream_retries_total`, { model: 'failing', provider: 'openai' })).toBe(2);
    expect(hasSample(text, `${P}upstream_retries_total`, { model: 'ok', provider: 'openai' })).toBe(false);
    expect(upstream.received.filter(({ model }) => model === 'failing').map(({ retry }) => retry)).toEqual([0, 1, 2]);
  });

  it('counts the requests the clients made once each, whatever their upstream attempts', () => {
    expect(sumOf(text, `${P}requests_total`, { model: 'failing' })).toBe(1);
    expect(sumOf(text, `${P}requests_total`, { model: 'flaky', status: 'success' })).toBe(1);
    expect(sumOf(text, `${P}requests_total`, { model: 'breaking', status: 'error' })).toBe(1);
  });

  it('times the upstream calls: their duration, headers, first chunk and later chunks', () => {
    const count = (suffix: string, model: string) => valueOf(text, `${P}${suffix}_count`, { model, provider: 'openai' });
    expect(count('upstream_request_duration_seconds', 'ok')).toBe(4);
    expect(count('upstream_time_to_headers_seconds', 'failing')).toBe(3);
    expect(count('upstream_time_to_first_chunk_seconds', 'ok')).toBe(1);
    expect(count('upstream_time_per_output_chunk_seconds', 'ok')).toBe(4);
    expect(hasSample(text, `${P}upstream_time_to_first_chunk_seconds_count`, { model: 'flaky', provider: 'openai' })).toBe(false);
    expect(valueOf(text, `${P}upstream_time_to_first_chunk_seconds_sum`, { model: 'slow', provider: 'openai' })).toBeGreaterThanOrEqual(
      SLOW_FIRST_CHUNK_MS / 1000,
    );
  });

  it('records each request that called upstream as its overhead: its duration less its upstream time', () => {
    const requests = sumOf(text, `${P}requests_total`);
    expect(sumOf(text, `${P}gateway_overhead_seconds_count`)).toBe(requests);
    const duration = sumOf(text, `${P}request_duration_seconds_sum`);
    const upstreamTime = sumOf(text, `${P}upstream_request_duration_seconds_sum`);
    const overhead = sumOf(text, `${P}gateway_overhead_seconds_sum`);
    // The retries' back-off is the gateway's time: overhead + upstream time is the duration, to the microsecond.
    expect(Math.abs(overhead + upstreamTime - duration)).toBeLessThan(1e-6);
    expect(overhead).toBeGreaterThan(0);
  });

  it('counts what the tokens cost exactly once per request, by tenant, retries and failures costing nothing', () => {
    const cost = (model: string, tenant: string) => valueOf(text, `${P}cost_total`, { model, provider: 'openai', currency: 'USD', tenant });
    expect(cost('ok', 'acme')).toBeCloseTo(costOf(4) + costOf(6) + costOf(5), 15);
    expect(cost('ok', 'beta')).toBeCloseTo(costOf(4), 15);
    expect(cost('flaky', 'acme')).toBeCloseTo(costOf(4), 15);
    expect(cost('slow', 'acme')).toBeCloseTo(costOf(5), 15);
    expect(hasSample(text, `${P}cost_total`, { model: 'failing', provider: 'openai', currency: 'USD', tenant: 'acme' })).toBe(false);
    const priced = (type: string) =>
      valueOf(text, `${P}priced_tokens_total`, { model: 'ok', provider: 'openai', token_type: type, tenant: 'acme' });
    expect(priced('input')).toBe(3 * (SCRIPTED_USAGE.prompt - SCRIPTED_USAGE.cached));
    expect(priced('cached_input')).toBe(3 * SCRIPTED_USAGE.cached);
    expect(priced('output')).toBe(4 + 6 + 5);
    // A stream cut before its usage: the output tokens it sent, unpriced; a model without a price: its usage, unpriced.
    expect(
      valueOf(text, `${P}unpriced_tokens_total`, { model: 'breaking', provider: 'openai', token_type: 'output', tenant: 'acme' }),
    ).toBe(2);
    expect(valueOf(text, `${P}unpriced_tokens_total`, { model: 'hostile', provider: 'openai', token_type: 'output', tenant: 'acme' })).toBe(
      3,
    );
    expect(
      valueOf(text, `${P}price_per_million_tokens`, { model: 'ok', provider: 'openai', currency: 'USD', token_type: 'cached_input' }),
    ).toBe(PRICE.cachedInput);
  });

  it('keeps the rate limits the provider last reported, and ignores headers that are no count', () => {
    const limit = (labels: Record<string, string>, suffix = 'upstream_rate_limit_remaining') =>
      valueOf(text, `${P}${suffix}`, { model: 'ok', provider: 'openai', ...labels });
    expect(limit({ limit: 'tokens' })).toBe(50000);
    expect(limit({ limit: 'requests' })).toBeLessThan(1000);
    expect(limit({ limit: 'requests' }, 'upstream_rate_limit_reset_seconds')).toBe(1);
    expect(limit({ limit: 'tokens' }, 'upstream_rate_limit_reset_seconds')).toBe(360);
    expect(text).not.toMatch(/upstream_rate_limit_\w+\{[^}]*model="hostile"/);
  });

  it('serves metrics that promtool accepts', () => {
    const { status, output } = promtoolCheck(text);
    expect(output).not.toMatch(/error/i);
    expect(status).toBe(0);
  });

  it('aborts the upstream call of a client that goes away, and records it as cancelled', async () => {
    const before = await scrape(app.baseUrl);
    const cancelled = (scraped: string) =>
      sumOf(scraped, `${P}upstream_requests_total`, { model: 'slow', provider: 'openai', status: 'error', error_type: 'cancelled' });
    await abandonAfter(app.baseUrl, '/v1/chat/completions', {
      body: { model: 'slow', messages: ask, max_tokens: 50, stream: true },
      chunks: 2,
      headers: { authorization: 'Bearer sk-acme' },
    });
    const after = await eventually(
      () => scrape(app.baseUrl),
      (scraped) => cancelled(scraped) > cancelled(before),
    );
    expect(cancelled(after)).toBe(cancelled(before) + 1);
    expect(sumOf(after, `${P}inflight_requests`)).toBe(0);
  });
});
