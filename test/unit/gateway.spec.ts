import { Registry } from 'prom-client';
import { DEFAULT_MAX_PROVIDERS, Endpoint, type Fetch, LlmMetricsService, type LlmMetricsServiceOptions } from '../../src/index.js';
import { ProviderLabelPolicy } from '../../src/labels/provider-label.policy.js';
import { parseCount, parseDurationSeconds } from '../../src/gateway/rate-limit-headers.js';
import { hasSample, samplesOf, sumOf, valueOf } from '../support/exposition.js';
import { countOf, testMeterProvider } from '../support/opentelemetry.js';

const P = 'nv_llm_http_service_';
const URL_CHAT = 'http://upstream.test/v1/chat/completions';

function serviceWith(options: LlmMetricsServiceOptions = {}) {
  const registry = new Registry();
  const metrics = new LlmMetricsService(undefined, { upstream: true, ...options });
  metrics.register(registry);
  return { metrics, registry, text: () => registry.metrics() };
}

/** A fetch that answers JSON with `usage`, and the headers given. */
function jsonFetch(usage: object = { prompt_tokens: 10, completion_tokens: 5 }, headers: Record<string, string> = {}): Fetch {
  return async () =>
    new Response(JSON.stringify({ choices: [{ message: { content: 'x' } }], usage }), {
      headers: { 'content-type': 'application/json', ...headers },
    });
}

const chatBody = (model: string, extra: object = {}) => ({ method: 'POST', body: JSON.stringify({ model, messages: [], ...extra }) });

/** A fetch whose streamed answer the test writes chunk by chunk. */
function controlledStream(): { fetch: Fetch; push(text: string): void; fail(err: Error): void; end(): void; cancelled: Promise<unknown> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let onCancel!: (reason: unknown) => void;
  const cancelled = new Promise((resolve) => (onCancel = resolve));
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: (reason) => onCancel(reason ?? 'cancelled'),
  });
  return {
    fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    push: (text) => controller.enqueue(new TextEncoder().encode(text)),
    fail: (err) => controller.error(err),
    end: () => controller.close(),
    cancelled,
  };
}

const event = (content: string) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;

describe('rate-limit headers', () => {
  it('reads counts and durations as providers send them', () => {
    expect(parseCount('59')).toBe(59);
    expect(parseCount(' 149984 ')).toBe(149984);
    expect(parseDurationSeconds('1s')).toBe(1);
    expect(parseDurationSeconds('6m0s')).toBe(360);
    expect(parseDurationSeconds('20ms')).toBe(0.02);
    expect(parseDurationSeconds('1h2m3.5s')).toBe(3723.5);
    expect(parseDurationSeconds('2.5')).toBe(2.5);
  });

  it('ignores anything that is no count or duration', () => {
    for (const value of [null, '', '-5', '9'.repeat(40), 'soon', '1h'.repeat(30), '1e9', 'NaN', '5 s', '0x10']) {
      expect([value, parseCount(value), parseDurationSeconds(value)]).toEqual([value, undefined, undefined]);
    }
  });
});

describe('the provider label', () => {
  it('records configured names as themselves, and any other as other', () => {
    const policy = new ProviderLabelPolicy(['openai'], ['azure']);
    expect(['openai', 'azure', 'vllm', 'OpenAI', '', 'a'.repeat(100)].map((name) => policy.resolve(name))).toEqual([
      'openai',
      'azure',
      'other',
      'other',
      'other',
      'other',
    ]);
  });

  it('records the first 16 names as themselves without a list, later ones as other', async () => {
    const { metrics, text } = serviceWith();
    const policy = new ProviderLabelPolicy(undefined, []);
    const names = Array.from({ length: 1000 }, (_, i) => `p${i}`);
    expect(new Set(names.map((name) => policy.resolve(name))).size).toBe(DEFAULT_MAX_PROVIDERS + 1);
    // And through fetch(): a name made per request cannot make series at will.
    for (const provider of names.slice(0, 40)) {
      await (await metrics.fetch(jsonFetch(), { provider })(URL_CHAT, chatBody('m'))).text();
    }
    const providers = samplesOf(await text(), `${P}upstream_requests_total`).map(({ labels }) => labels.provider);
    expect(new Set(providers).size).toBe(DEFAULT_MAX_PROVIDERS + 1);
    expect(valueOf(await text(), `${P}upstream_requests_total`, { model: 'm', provider: 'other', status: 'success', error_type: '' })).toBe(
      24,
    );
  });
});

describe('the upstream and prices options', () => {
  it('refuses a bad option, naming it', () => {
    const bad: [LlmMetricsServiceOptions, RegExp][] = [
      [{ upstream: { providers: ['Open AI'] } }, /"upstream.providers"/],
      [{ upstream: { provider: ['openai'] } as never }, /unknown option "upstream.provider": did you mean "providers"/],
      [
        { prices: { models: { m: { input: 0.0000001, output: 1 } } } },
        /"prices.models.m.input" must be a price .* at most 6 decimals, got 1e-7/,
      ],
      [{ prices: { models: { m: { input: -1, output: 1 } } } }, /"prices.models.m.input"/],
      [{ prices: { models: { m: { input: 1 } as never } } }, /"prices.models.m.output"/],
      [{ prices: { models: { m: { input: 1, output: 1, cachedInputs: 1 } as never } } }, /did you mean "cachedInput"/],
      [{ prices: { currency: 'US Dollar' } }, /"prices.currency"/],
      [{ prices: { providers: { 'Bad Name': {} } } }, /"prices.providers"/],
      [{ prices: { models: { m: { input: 1, output: 1, currency: '€' } } } }, /"prices.models.m.currency"/],
    ];
    for (const [options, message] of bad) {
      expect(() => new LlmMetricsService(undefined, options)).toThrow(message);
    }
  });

  it('makes fetch() refuse to run without the upstream option, or without a provider name', () => {
    expect(() => new LlmMetricsService().fetch({ provider: 'openai' })).toThrow(/`upstream` option/);
    const { metrics } = serviceWith();
    expect(() => metrics.fetch({} as never)).toThrow(/"fetch\(\).provider" must be a provider name/);
    expect(() => metrics.fetch(jsonFetch(), { provider: 'Open AI' })).toThrow(/"fetch\(\).provider"/);
    expect(() => metrics.fetch('fetch' as never, { provider: 'openai' })).toThrow(/"fetch\(\)"/);
  });

  it('adds no metric without them: the schemas stay as they were', () => {
    const names = new LlmMetricsService().metricNames;
    expect(names.filter((name) => /upstream|cost|price|overhead/.test(name))).toEqual([]);
    const gateway = serviceWith({ prices: {} }).metrics.metricNames.filter((name) => !names.includes(name));
    expect(gateway.map((name) => name.slice(P.length))).toEqual([
      'upstream_requests_total',
      'upstream_retries_total',
      'upstream_request_duration_seconds',
      'upstream_time_to_headers_seconds',
      'upstream_time_to_first_chunk_seconds',
      'upstream_time_per_output_chunk_seconds',
      'gateway_overhead_seconds',
      'upstream_rate_limit_remaining',
      'upstream_rate_limit_reset_seconds',
      'cost_total',
      'priced_tokens_total',
      'unpriced_tokens_total',
      'price_per_million_tokens',
    ]);
  });
});

describe('an instrumented fetch', () => {
  it('passes each chunk on as it arrives, before the upstream ends', async () => {
    const { metrics, text } = serviceWith();
    const upstream = controlledStream();
    const response = await metrics.fetch(upstream.fetch, { provider: 'openai' })(URL_CHAT, chatBody('m', { stream: true }));
    const reader = response.body!.getReader();
    upstream.push(event('a'));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(event('a'));
    upstream.push(event('b'));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(event('b'));
    expect(
      hasSample(await text(), `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'success', error_type: '' }),
    ).toBe(false);
    upstream.end();
    expect((await reader.read()).done).toBe(true);
    const after = await text();
    expect(valueOf(after, `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'success', error_type: '' })).toBe(1);
    expect(valueOf(after, `${P}upstream_time_to_first_chunk_seconds_count`, { model: 'm', provider: 'openai' })).toBe(1);
    expect(valueOf(after, `${P}upstream_time_per_output_chunk_seconds_count`, { model: 'm', provider: 'openai' })).toBe(1);
  });

  it('cancels the upstream body when the caller cancels, and records the call as cancelled', async () => {
    const { metrics, text } = serviceWith();
    const upstream = controlledStream();
    const response = await metrics.fetch(upstream.fetch, { provider: 'openai' })(URL_CHAT, chatBody('m', { stream: true }));
    await response.body!.cancel('gone');
    expect(await upstream.cancelled).toBe('gone');
    expect(
      valueOf(await text(), `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'error', error_type: 'cancelled' }),
    ).toBe(1);
  });

  it('passes a body that breaks on to the caller, and records it as internal', async () => {
    const { metrics, text } = serviceWith();
    const upstream = controlledStream();
    const response = await metrics.fetch(upstream.fetch, { provider: 'openai' })(URL_CHAT, chatBody('m', { stream: true }));
    upstream.push(event('a'));
    upstream.fail(new TypeError('terminated'));
    await expect(response.text()).rejects.toThrow('terminated');
    expect(
      valueOf(await text(), `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'error', error_type: 'internal' }),
    ).toBe(1);
  });

  it('records a fetch that fails by why it failed, and throws its error as it was', async () => {
    const { metrics, text } = serviceWith();
    const failing =
      (err: Error): Fetch =>
      async () =>
        Promise.reject(err);
    const unreachable = new TypeError('fetch failed');
    await expect(metrics.fetch(failing(unreachable), { provider: 'openai' })(URL_CHAT, chatBody('m'))).rejects.toBe(unreachable);
    const timeout = new DOMException('timed out', 'TimeoutError');
    await expect(metrics.fetch(failing(timeout), { provider: 'openai' })(URL_CHAT, chatBody('m'))).rejects.toBe(timeout);
    const controller = new AbortController();
    controller.abort();
    const aborted = new DOMException('aborted', 'AbortError');
    await expect(
      metrics.fetch(failing(aborted), { provider: 'openai' })(URL_CHAT, { ...chatBody('m'), signal: controller.signal }),
    ).rejects.toBe(aborted);
    const byType = Object.fromEntries(
      samplesOf(await text(), `${P}upstream_requests_total`, { model: 'm' }).map(({ labels, value }) => [labels.error_type, value]),
    );
    expect(byType).toEqual({ unavailable: 1, response_timeout: 1, cancelled: 1 });
  });

  it('records answers without a body, and error answers by their status', async () => {
    const { metrics, text } = serviceWith();
    await metrics.fetch(async () => new Response(null, { status: 204 }), { provider: 'openai' })(URL_CHAT, chatBody('m'));
    const tooMany = await metrics.fetch(async () => new Response('{"error":{}}', { status: 429 }), { provider: 'openai' })(
      URL_CHAT,
      chatBody('m'),
    );
    expect(tooMany.status).toBe(429);
    await tooMany.body!.cancel();
    const after = await text();
    expect(valueOf(after, `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'success', error_type: '' })).toBe(1);
    expect(valueOf(after, `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'error', error_type: 'overload' })).toBe(
      1,
    );
  });

  it('keeps what the caller reads of the response: status, headers, url, JSON', async () => {
    const { metrics } = serviceWith();
    const upstream: Fetch = async () => {
      const response = new Response('{"usage":{"prompt_tokens":1}}', {
        status: 201,
        statusText: 'Made',
        headers: { 'x-request-id': 'r1' },
      });
      Object.defineProperty(response, 'url', { value: URL_CHAT });
      return response;
    };
    const response = await metrics.fetch(upstream, { provider: 'openai' })(URL_CHAT, chatBody('m'));
    expect([response.status, response.statusText, response.headers.get('x-request-id'), response.url]).toEqual([
      201,
      'Made',
      'r1',
      URL_CHAT,
    ]);
    expect(await response.json()).toEqual({ usage: { prompt_tokens: 1 } });
  });

  it('never fails a call when the metrics fail: the fault goes to onRecordError, even one that throws', async () => {
    let broken = false;
    const faults: unknown[] = [];
    const { metrics } = serviceWith({
      clock: () => {
        if (broken) {
          throw new Error('clock broke');
        }
        return performance.now();
      },
      onRecordError: (err) => {
        faults.push(err);
        throw err;
      },
    });
    const instrumented = metrics.fetch(jsonFetch(), { provider: 'openai' });
    broken = true;
    const response = await instrumented(URL_CHAT, chatBody('m'));
    expect(((await response.json()) as { usage: unknown }).usage).toEqual({ prompt_tokens: 10, completion_tokens: 5 });
    expect(faults.length).toBeGreaterThan(0);
    // Broken while the body is read: the body still comes whole.
    broken = false;
    const upstream = controlledStream();
    const streamed = await metrics.fetch(upstream.fetch, { provider: 'openai' })(URL_CHAT, chatBody('m', { stream: true }));
    broken = true;
    upstream.push(event('a'));
    upstream.end();
    expect(await streamed.text()).toBe(event('a'));
  });

  it('records a call made outside any tracked request with each request label missing, and no overhead', async () => {
    const { metrics, text } = serviceWith({
      labels: { tenant: { from: () => 'acme', missing: 'none', metrics: ['upstream_requests_total'] } },
    });
    await (await metrics.fetch(jsonFetch(), { provider: 'openai' })(URL_CHAT, chatBody('m'))).text();
    const after = await text();
    expect(
      valueOf(after, `${P}upstream_requests_total`, { model: 'm', provider: 'openai', status: 'success', error_type: '', tenant: 'none' }),
    ).toBe(1);
    expect(sumOf(after, `${P}gateway_overhead_seconds_count`)).toBe(0);
  });

  it('links the calls made inside a guard run to its request: its labels, overhead, and no local cost', async () => {
    const { metrics, text } = serviceWith({
      labels: { tenant: { from: (source) => (source as { tenant: string }).tenant } },
      prices: { models: { m: { input: 1, output: 2 } } },
    });
    const instrumented = metrics.fetch(jsonFetch(), { provider: 'openai' });
    const guard = metrics.createInflightGuard('alias', Endpoint.ChatCompletions, false, { tenant: 'acme' });
    await guard.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await (await instrumented(URL_CHAT, chatBody('m'))).text();
    });
    guard.recordUsage({ prompt_tokens: 10, completion_tokens: 5 });
    guard.markOk();
    guard.finish();
    const after = await text();
    expect(valueOf(after, `${P}gateway_overhead_seconds_count`, { model: 'alias' })).toBe(1);
    expect(valueOf(after, `${P}gateway_overhead_seconds_sum`, { model: 'alias' })).toBeGreaterThanOrEqual(0.004);
    expect(valueOf(after, `${P}cost_total`, { model: 'm', provider: 'openai', currency: 'USD', tenant: 'acme' })).toBeCloseTo(20e-6, 18);
    expect(hasSample(after, `${P}cost_total`, { model: 'alias', provider: 'local', currency: 'USD', tenant: 'acme' })).toBe(false);
  });
});

describe('request labels on upstream series', () => {
  it('carries a label on the rate limits where its metrics say, and forgets the series with its idle value', async () => {
    let now = 1000;
    const { metrics, text } = serviceWith({
      clock: () => now,
      labelTtl: 60_000,
      labels: {
        tenant: { from: (source) => (source as { tenant: string }).tenant, metrics: ['upstream_rate_limit_remaining', 'cost_total'] },
      },
      prices: { models: { m: { input: 1, output: 1 } } },
    });
    const instrumented = metrics.fetch(jsonFetch({ prompt_tokens: 1, completion_tokens: 1 }, { 'x-ratelimit-remaining-tokens': '42' }), {
      provider: 'openai',
    });
    for (const tenant of ['acme', 'beta']) {
      const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false, { tenant });
      await guard.run(async () => (await instrumented(URL_CHAT, chatBody('m'))).text());
      guard.finish();
    }
    const remaining = (scraped: string) =>
      samplesOf(scraped, `${P}upstream_rate_limit_remaining`, { limit: 'tokens' }).map(({ labels, value }) => `${labels.tenant} ${value}`);
    expect(remaining(await text()).sort()).toEqual(['acme 42', 'beta 42']);
    // An hour later, acme comes back: beta's values are idle for the TTL, and go with their series.
    now += 3_600_000;
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false, { tenant: 'acme' });
    await guard.run(async () => (await instrumented(URL_CHAT, chatBody('m'))).text());
    guard.finish();
    const after = await text();
    expect(remaining(after)).toEqual(['acme 42']);
    expect(samplesOf(after, `${P}cost_total`).map(({ labels }) => labels.tenant)).toEqual(['acme']);
  });
});

describe('cost', () => {
  it('is exact over many requests, where adding the floats drifts', async () => {
    const { metrics, text } = serviceWith({ upstream: undefined, prices: { models: { m: { input: 0.075, output: 0.3 } } } });
    let floats = 0;
    for (let i = 0; i < 100_000; i++) {
      const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
      guard.recordUsage({ prompt_tokens: 7, completion_tokens: 3 });
      guard.markOk();
      guard.finish();
      floats += (7 * 0.075 + 3 * 0.3) / 1e6;
    }
    const cost = valueOf(await text(), `${P}cost_total`, { model: 'm', provider: 'local', currency: 'USD' });
    // 100 000 × (7 × 75 000 + 3 × 300 000) units of 10⁻¹² USD, exactly.
    expect(cost).toBe(Number(100_000n * (7n * 75_000n + 3n * 300_000n)) / 1e12);
    expect(cost).toBe(0.1425);
    expect(floats).not.toBe(0.1425);
  });

  it('starts again from zero after a reset of the registry, as every counter', async () => {
    const { metrics, registry, text } = serviceWith({ upstream: undefined, prices: { models: { m: { input: 1, output: 1 } } } });
    const request = () => {
      const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
      guard.recordUsage({ prompt_tokens: 1, completion_tokens: 1 });
      guard.finish();
    };
    request();
    request();
    registry.resetMetrics();
    request();
    expect(valueOf(await text(), `${P}cost_total`, { model: 'm', provider: 'local', currency: 'USD' })).toBe(2e-6);
  });

  it('prices cached and reasoning tokens apart, clamping a usage that claims too many', async () => {
    const { metrics, text } = serviceWith({
      upstream: undefined,
      prices: { models: { m: { input: 1, cachedInput: 0.5, output: 4, reasoning: 8 } } },
    });
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    guard.recordUsage({
      prompt_tokens: 10,
      completion_tokens: 6,
      prompt_tokens_details: { cached_tokens: 50 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    guard.finish();
    const after = await text();
    const priced = (type: string) => valueOf(after, `${P}priced_tokens_total`, { model: 'm', provider: 'local', token_type: type });
    expect([priced('cached_input'), priced('output'), priced('reasoning')]).toEqual([10, 4, 2]);
    expect(hasSample(after, `${P}priced_tokens_total`, { model: 'm', provider: 'local', token_type: 'input' })).toBe(false);
    expect(valueOf(after, `${P}cost_total`, { model: 'm', provider: 'local', currency: 'USD' })).toBe((10 * 0.5 + 4 * 4 + 2 * 8) / 1e6);
  });

  it('counts a usage without a price, and a stream without usage, as unpriced', async () => {
    const { metrics, text } = serviceWith({ upstream: undefined, prices: {} });
    const unary = metrics.createInflightGuard('free', Endpoint.ChatCompletions, false);
    unary.recordUsage({ prompt_tokens: 3, completion_tokens: 2 });
    unary.finish();
    const stream = metrics.createInflightGuard('free', Endpoint.ChatCompletions, true);
    stream.recordOutput(4);
    stream.cancel();
    const after = await text();
    const unpriced = (type: string) => valueOf(after, `${P}unpriced_tokens_total`, { model: 'free', provider: 'local', token_type: type });
    expect([unpriced('input'), unpriced('output')]).toEqual([3, 6]);
    expect(hasSample(after, `${P}cost_total`, { model: 'free', provider: 'local', currency: 'USD' })).toBe(false);
  });
});

describe('the OpenTelemetry client metrics', () => {
  it('records each call to a GenAI operation as the conventions name it, and not a path that is none', async () => {
    const { meterProvider, reader } = testMeterProvider();
    const { metrics } = serviceWith({ openTelemetry: { meterProvider } });
    const upstream = controlledStream();
    const streamed = await metrics.fetch(upstream.fetch, { provider: 'openai' })(URL_CHAT, chatBody('m', { stream: true }));
    upstream.push(event('a'));
    upstream.push(event('b'));
    upstream.push('data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\n');
    upstream.end();
    await streamed.text();
    await (await metrics.fetch(jsonFetch(), { provider: 'openai' })('http://upstream.test/v1/models')).text();
    await expect(
      metrics.fetch(async () => Promise.reject(new TypeError('fetch failed')), { provider: 'openai' })(URL_CHAT, chatBody('m')),
    ).rejects.toThrow();
    const recorded = await reader.metrics();
    const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'm' };
    expect(countOf(recorded.get('gen_ai.client.operation.duration'), chat)).toBe(2);
    expect(countOf(recorded.get('gen_ai.client.operation.duration'), { ...chat, 'error.type': 'unavailable' })).toBe(1);
    expect(countOf(recorded.get('gen_ai.client.operation.time_to_first_chunk'), chat)).toBe(1);
    expect(countOf(recorded.get('gen_ai.client.operation.time_per_output_chunk'), chat)).toBe(1);
    expect(countOf(recorded.get('gen_ai.client.token.usage'), { ...chat, 'gen_ai.token.type': 'input' })).toBe(1);
    expect(countOf(recorded.get('gen_ai.client.token.usage'), { ...chat, 'gen_ai.token.type': 'output' })).toBe(1);
  });

  it('counts a token once: a request that called upstream leaves the token usage to its calls', async () => {
    const { meterProvider, reader } = testMeterProvider();
    const { metrics } = serviceWith({ openTelemetry: { meterProvider } });
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    await guard.run(async () => (await metrics.fetch(jsonFetch(), { provider: 'openai' })(URL_CHAT, chatBody('m'))).text());
    guard.recordUsage({ prompt_tokens: 10, completion_tokens: 5 });
    guard.markOk();
    guard.finish();
    const usage = (await reader.metrics()).get('gen_ai.client.token.usage');
    expect(countOf(usage, { 'gen_ai.token.type': 'input' })).toBe(1);
    expect(countOf((await reader.metrics()).get('gen_ai.server.request.duration'))).toBe(1);
  });
});
