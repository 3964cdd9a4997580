import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import { GATEWAY_PRICES } from '../sample/gateway/gateway.config.js';
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
    // The upstream call is counted when the handler aborts it, the request when its response closes, a few ms apart.
    const after = await eventually(
      () => scrape(app.baseUrl),
      (scraped) => cancelled(scraped) > cancelled(before) && sumOf(scraped, `${P}inflight_requests`) === 0,
    );
    expect(cancelled(after)).toBe(cancelled(before) + 1);
    expect(sumOf(after, `${P}inflight_requests`)).toBe(0);
  });
});

describe.each(ADAPTERS)('the sample as a gateway in front of the sample (%s)', (adapter) => {
  const P = PREFIX['dynamo-0.2.1'];
  let engine: RunningApp;
  let gateway: RunningApp;
  let text: string;
  /** The tokens of every usage the client saw, by model and token type, as a price splits them. */
  const seen: Record<string, Record<'input' | 'cached_input' | 'output' | 'reasoning', number>> = {};
  const note = (model: string, prompt = 0, cached = 0, completion = 0, reasoning = 0) => {
    const tokens = (seen[model] ??= { input: 0, cached_input: 0, output: 0, reasoning: 0 });
    tokens.input += prompt - cached;
    tokens.cached_input += cached;
    tokens.output += completion - reasoning;
    tokens.reasoning += reasoning;
  };

  beforeAll(async () => {
    engine = await startApp(AppModule.register({ tokenDelayMs: 2, apiKeys: {} }), { adapter });
    gateway = await startApp(AppModule.register({ upstream: { url: `${engine.baseUrl}/v1` }, apiKeys: {} }), { adapter });
    const client = new OpenAI({ baseURL: `${gateway.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    const messages = [{ role: 'user' as const, content: 'Hello there' }];
    for (const model of ['mock-llama-3-8b', 'mock-gpt-small']) {
      const chat = await client.chat.completions.create({ model, messages, reasoning_effort: 'low' });
      note(
        model,
        chat.usage?.prompt_tokens,
        chat.usage?.prompt_tokens_details?.cached_tokens,
        chat.usage?.completion_tokens,
        chat.usage?.completion_tokens_details?.reasoning_tokens,
      );
      const stream = await client.chat.completions.create({ model, messages, stream: true });
      for await (const chunk of stream) {
        if (chunk.usage) {
          note(model, chunk.usage.prompt_tokens, chunk.usage.prompt_tokens_details?.cached_tokens, chunk.usage.completion_tokens);
        }
      }
    }
    const completion = await client.completions.create({ model: 'mock-gpt-small', prompt: 'Once upon a time' });
    note('mock-gpt-small', completion.usage?.prompt_tokens, 0, completion.usage?.completion_tokens);
    const completions = await client.completions.create({ model: 'mock-gpt-small', prompt: 'Once upon a time', stream: true });
    for await (const chunk of completions) {
      if (chunk.usage) {
        note('mock-gpt-small', chunk.usage.prompt_tokens, chunk.usage.prompt_tokens_details?.cached_tokens, chunk.usage.completion_tokens);
      }
    }
    const response = await client.responses.create({ model: 'mock-llama-3-8b', input: 'Hello' });
    note(
      'mock-llama-3-8b',
      response.usage?.input_tokens,
      response.usage?.input_tokens_details.cached_tokens,
      response.usage?.output_tokens,
    );
    const events = await client.responses.create({ model: 'mock-llama-3-8b', input: 'Hello', stream: true });
    for await (const event of events) {
      if (event.type === 'response.completed') {
        const { usage } = event.response;
        note('mock-llama-3-8b', usage?.input_tokens, usage?.input_tokens_details.cached_tokens, usage?.output_tokens);
      }
    }
    const embedding = await client.embeddings.create({ model: 'mock-gpt-small', input: ['one two three'] });
    expect(embedding.data[0].embedding).toHaveLength(8);
    note('mock-gpt-small', embedding.usage.prompt_tokens);
    text = await eventually(
      () => scrape(gateway.baseUrl),
      (scraped) => sumOf(scraped, `${P}requests_total`) >= 9,
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await engine?.close();
  });

  it('passes every endpoint on, unary and streamed, and records one upstream call for each request', () => {
    expect(sumOf(text, `${P}requests_total`, { status: 'success' })).toBe(9);
    expect(sumOf(text, `${P}upstream_requests_total`, { provider: 'openai', status: 'success' })).toBe(9);
    for (const endpoint of ['chat_completions', 'completions', 'responses', 'embeddings']) {
      expect(sumOf(text, `${P}requests_total`, { endpoint })).toBeGreaterThan(0);
    }
    expect(sumOf(text, `${P}gateway_overhead_seconds_count`)).toBe(9);
    expect(sumOf(text, `${P}upstream_time_to_first_chunk_seconds_count`)).toBe(4);
  });

  it("counts the tokens and the cost of every usage the client saw, at the config's prices", () => {
    for (const [model, tokens] of Object.entries(seen)) {
      for (const [type, count] of Object.entries(tokens)) {
        const labels = { model, provider: 'openai', token_type: type };
        expect([
          model,
          type,
          hasSample(text, `${P}priced_tokens_total`, labels) ? valueOf(text, `${P}priced_tokens_total`, labels) : 0,
        ]).toEqual([model, type, count]);
      }
      const price = GATEWAY_PRICES.models![model];
      const expected =
        (tokens.input * price.input +
          tokens.cached_input * (price.cachedInput ?? price.input) +
          tokens.output * price.output +
          tokens.reasoning * (price.reasoning ?? price.output)) /
        1e6;
      expect(valueOf(text, `${P}cost_total`, { model, provider: 'openai', currency: 'USD' })).toBeCloseTo(expected, 15);
    }
    expect(seen['mock-gpt-small'].reasoning).toBeGreaterThan(0);
    expect(sumOf(text, `${P}unpriced_tokens_total`)).toBe(0);
  });
});
