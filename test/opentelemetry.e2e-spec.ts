import { metrics as otelMetrics } from '@opentelemetry/api';
import { AppModule } from '../sample/app.module.js';
import { GEN_AI_BUCKETS } from '../src/opentelemetry/gen-ai-metrics.js';
import { sumOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { type TestMetricReader, countOf, histogramPoints, testMeterProvider } from './support/opentelemetry.js';

const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';
const REQUESTS = 'nv_llm_http_service_requests_total';

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content }],
  ...extra,
});

describe.each(ADAPTERS)('the OpenTelemetry GenAI metrics, recorded from the same measurements (%s)', (adapter) => {
  let app: RunningApp;
  let reader: TestMetricReader;

  beforeAll(async () => {
    const provider = testMeterProvider();
    reader = provider.reader;
    app = await startApp(
      AppModule.register({
        tokenDelayMs: 2,
        metrics: { openTelemetry: { meterProvider: provider.meterProvider, providerName: 'openai' } },
      }),
      {
        adapter,
      },
    );
    // The workload: unary and streamed chats, completions, embeddings, a 404 and an abandoned stream.
    await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'hello'));
    await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'hello again'));
    await postJson(app.baseUrl, '/v1/chat/completions', chat(SMALL, 'stream', { stream: true, stream_options: { include_usage: true } }));
    await postJson(app.baseUrl, '/v1/completions', { model: SMALL, prompt: 'once upon a time', stream: true });
    await postJson(app.baseUrl, '/v1/chat/completions/sse', chat(SMALL, 'through sse'));
    await postJson(app.baseUrl, '/v1/embeddings', { model: LLAMA, input: 'one two three' });
    await postJson(app.baseUrl, '/v1/chat/completions', chat('gpt-4o', 'not served'));
    await abandonAfter(app.baseUrl, '/v1/chat/completions', { body: chat(LLAMA, 'leave', { stream: true }), chunks: 2 });
    await eventually(
      () => scrape(app.baseUrl),
      (text) => sumOf(text, REQUESTS) === 8,
    );
  });
  afterAll(() => app.close());

  it('creates the four instruments with their units, descriptions and the bucket boundaries the conventions advise', async () => {
    const metrics = await reader.metrics();
    const described = [...metrics.values()].map(({ descriptor, dataPoints }) => ({
      name: descriptor.name,
      unit: descriptor.unit,
      description: descriptor.description,
      boundaries: histogramPoints(metrics.get(descriptor.name))[0]?.value.buckets.boundaries,
      points: dataPoints.length > 0,
    }));
    expect(described.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      {
        name: 'gen_ai.client.token.usage',
        unit: '{token}',
        description: 'Number of input and output tokens used.',
        boundaries: [...GEN_AI_BUCKETS.tokenUsage],
        points: true,
      },
      {
        name: 'gen_ai.server.request.duration',
        unit: 's',
        description: 'Generative AI server request duration such as time-to-last byte or last output token.',
        boundaries: [...GEN_AI_BUCKETS.requestDuration],
        points: true,
      },
      {
        name: 'gen_ai.server.time_per_output_token',
        unit: 's',
        description: 'Time per output token generated after the first token for successful responses.',
        boundaries: [...GEN_AI_BUCKETS.timePerOutputToken],
        points: true,
      },
      {
        name: 'gen_ai.server.time_to_first_token',
        unit: 's',
        description: 'Time to generate first token for successful responses.',
        boundaries: [...GEN_AI_BUCKETS.timeToFirstToken],
        points: true,
      },
    ]);
  });

  it('records one request duration per request the Prometheus metrics count, with error.type on failures', async () => {
    const metrics = await reader.metrics();
    const duration = metrics.get('gen_ai.server.request.duration');
    const text = await scrape(app.baseUrl);
    expect(countOf(duration)).toBe(sumOf(text, REQUESTS));
    expect(countOf(duration, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': LLAMA })).toBe(
      sumOf(text, REQUESTS, { model: LLAMA, endpoint: 'chat_completions' }),
    );
    expect(countOf(duration, { 'gen_ai.operation.name': 'text_completion' })).toBe(sumOf(text, REQUESTS, { endpoint: 'completions' }));
    expect(countOf(duration, { 'gen_ai.operation.name': 'embeddings' })).toBe(sumOf(text, REQUESTS, { endpoint: 'embeddings' }));
    expect(countOf(duration, { 'error.type': 'not_found', 'gen_ai.request.model': 'unknown_model' })).toBe(1);
    expect(countOf(duration, { 'error.type': 'cancelled', 'gen_ai.request.model': LLAMA })).toBe(1);
    const attributeSets = histogramPoints(duration).map((point) => Object.keys(point.attributes).sort().join(','));
    expect(new Set(attributeSets)).toEqual(
      new Set([
        'gen_ai.operation.name,gen_ai.provider.name,gen_ai.request.model,gen_ai.response.model',
        'error.type,gen_ai.operation.name,gen_ai.provider.name,gen_ai.request.model',
        'error.type,gen_ai.operation.name,gen_ai.provider.name,gen_ai.request.model,gen_ai.response.model',
      ]),
    );
    expect(histogramPoints(duration).every((point) => point.attributes['gen_ai.provider.name'] === 'openai')).toBe(true);
  });

  it('names the model the answer names as gen_ai.response.model', async () => {
    const duration = (await reader.metrics()).get('gen_ai.server.request.duration');
    const pairs = histogramPoints(duration)
      .filter((point) => point.attributes['error.type'] === undefined)
      .map((point) => [point.attributes['gen_ai.request.model'], point.attributes['gen_ai.response.model']]);
    expect(pairs.every(([requested, answered]) => requested === answered)).toBe(true);
  });

  it('records time to first token and per output token for successful streams only, as many as Prometheus counts', async () => {
    const metrics = await reader.metrics();
    const text = await scrape(app.baseUrl);
    const successfulStreams = sumOf(text, REQUESTS, { request_type: 'stream', status: 'success' });
    expect(successfulStreams).toBe(3);
    expect(countOf(metrics.get('gen_ai.server.time_to_first_token'))).toBe(successfulStreams);
    expect(countOf(metrics.get('gen_ai.server.time_per_output_token'))).toBe(successfulStreams);
    // Prometheus's histogram also has the first token of the stream that was abandoned.
    expect(sumOf(text, 'nv_llm_http_service_time_to_first_token_seconds_count')).toBe(successfulStreams + 1);
  });

  it('records token usage by gen_ai.token.type where the answer reports it', async () => {
    const usage = (await reader.metrics()).get('gen_ai.client.token.usage');
    const text = await scrape(app.baseUrl);
    expect(countOf(usage, { 'gen_ai.token.type': 'input' })).toBe(sumOf(text, 'nv_llm_http_service_input_sequence_tokens_count'));
    expect(
      histogramPoints(usage)
        .filter((point) => point.attributes['gen_ai.token.type'] === 'input')
        .reduce((sum, point) => sum + (point.value.sum ?? 0), 0),
    ).toBe(sumOf(text, 'nv_llm_http_service_input_sequence_tokens_sum'));
    expect(countOf(usage, { 'gen_ai.token.type': 'output', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': SMALL })).toBe(2);
  });
});

describe('without the openTelemetry option', () => {
  it('records nothing through the global MeterProvider', async () => {
    const provider = testMeterProvider();
    otelMetrics.setGlobalMeterProvider(provider.meterProvider);
    try {
      const app = await startApp(AppModule.register({ tokenDelayMs: 0 }));
      await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'hello', { stream: true }));
      await app.close();
      expect([...(await provider.reader.metrics()).keys()]).toEqual([]);
    } finally {
      otelMetrics.disable();
    }
  });

  it('records through the global MeterProvider with openTelemetry: true', async () => {
    const provider = testMeterProvider();
    otelMetrics.setGlobalMeterProvider(provider.meterProvider);
    try {
      const app = await startApp(AppModule.register({ tokenDelayMs: 0, metrics: { openTelemetry: true } }));
      await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'hello'));
      await app.close();
      const duration = (await provider.reader.metrics()).get('gen_ai.server.request.duration');
      expect(countOf(duration, { 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat' })).toBe(1);
    } finally {
      otelMetrics.disable();
    }
  });
});

describe('what the answer was, in OpenTelemetry: nothing the conventions do not define', () => {
  it('exports no finish reason, tool call or content timing, and keeps reasoning and cached tokens inside output and input', async () => {
    const provider = testMeterProvider();
    const app = await startApp(
      AppModule.register({ tokenDelayMs: 0, metrics: { openTelemetry: { meterProvider: provider.meterProvider } } }),
    );
    try {
      const tools = [{ type: 'function', function: { name: 'get_weather' } }];
      await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'think', { reasoning_effort: 'low' }));
      await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'think', { reasoning_effort: 'low', max_tokens: 3 }));
      await postJson(app.baseUrl, '/v1/chat/completions', chat(SMALL, 'weather?', { tools, stream: true }));
      await postJson(app.baseUrl, '/v1/responses', { model: SMALL, input: 'hello', reasoning: { effort: 'low' }, stream: true });
      const text = await eventually(
        () => scrape(app.baseUrl),
        (t) => sumOf(t, REQUESTS) === 4,
      );
      // Prometheus has the facts: reasoning, cache, a length cut-off, a tool call.
      expect(sumOf(text, 'nv_llm_http_service_reasoning_tokens_total')).toBe(4 + 3 + 4);
      expect(sumOf(text, 'nv_llm_http_service_cached_prompt_tokens_total')).toBe(1);
      expect(sumOf(text, 'nv_llm_http_service_finish_reasons_total', { finish_reason: 'length' })).toBe(1);
      expect(sumOf(text, 'nv_llm_http_service_tool_calls_total', { outcome: 'ok' })).toBe(1);
      const metrics = await provider.reader.metrics();
      expect([...metrics.keys()].sort()).toEqual([
        'gen_ai.client.token.usage',
        'gen_ai.server.request.duration',
        'gen_ai.server.time_per_output_token',
        'gen_ai.server.time_to_first_token',
      ]);
      const allowed = new Set([
        'gen_ai.operation.name',
        'gen_ai.provider.name',
        'gen_ai.request.model',
        'gen_ai.response.model',
        'error.type',
        'gen_ai.token.type',
      ]);
      for (const metric of metrics.values()) {
        for (const point of histogramPoints(metric)) {
          expect(Object.keys(point.attributes).filter((key) => !allowed.has(key))).toEqual([]);
        }
      }
      const usage = histogramPoints(metrics.get('gen_ai.client.token.usage'));
      expect(new Set(usage.map((point) => point.attributes['gen_ai.token.type']))).toEqual(new Set(['input', 'output']));
      // The reasoning chats' output: all 16 (4 reasoning) and 3 (all reasoning) tokens, as the usage counts them.
      const llamaOutput = usage.filter(
        (point) => point.attributes['gen_ai.token.type'] === 'output' && point.attributes['gen_ai.request.model'] === LLAMA,
      );
      expect(llamaOutput.reduce((sum, point) => sum + (point.value.sum ?? 0), 0)).toBe(16 + 3);
    } finally {
      await app.close();
    }
  });
});
