import { AppModule } from '../sample/app.module.js';
import { sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';
const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';

const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: LLAMA,
  messages: [{ role: 'user', content: 'Hello there' }],
  ...extra,
});

/** The `data:` payloads of an SSE body, `[DONE]` included. */
function sseData(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length));
}

describe.each(ADAPTERS)('the sample OpenAI-compatible app (%s)', (adapter) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(AppModule.register({ tokenDelayMs: 5 }), { adapter });
  });
  afterAll(() => app.close());

  const metrics = () => scrape(app.baseUrl);
  const totalCounted = async () => sumOf(await metrics(), REQUESTS);
  /** Runs `send`, then waits until it is counted. */
  const counted = async <T>(send: () => Promise<T>): Promise<T> => {
    const before = await totalCounted();
    const result = await send();
    await eventually(totalCounted, (total) => total >= before + 1);
    return result;
  };

  it('lists its models at GET /v1/models, untracked', async () => {
    const before = await totalCounted();
    const response = await fetch(`${app.baseUrl}/v1/models`);
    const list = (await response.json()) as { object: string; data: { id: string }[] };
    expect(list.object).toBe('list');
    expect(list.data.map((model) => model.id)).toEqual([LLAMA, SMALL]);
    expect(await totalCounted()).toBe(before);
  });

  it('answers a unary chat completion and counts it', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/chat/completions', chatBody()));
    expect(res.status).toBe(200);
    const completion = JSON.parse(res.text) as { object: string; usage: { completion_tokens: number } };
    expect(completion.object).toBe('chat.completion');
    expect(completion.usage.completion_tokens).toBeGreaterThan(0);
    const text = await metrics();
    expect(valueOf(text, REQUESTS, { model: LLAMA, endpoint: 'chat_completions', request_type: 'unary', status: 'success' })).toBe(1);
  });

  it('streams a chat completion written by hand through @Res(), ending in [DONE]', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/chat/completions', chatBody({ stream: true, max_tokens: 4 })));
    expect(res.contentType).toContain('text/event-stream');
    const data = sseData(res.text);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.filter((payload) => payload.includes('"content"')).length).toBe(4);
    expect(
      valueOf(await metrics(), REQUESTS, { model: LLAMA, endpoint: 'chat_completions', request_type: 'stream', status: 'success' }),
    ).toBe(1);
  });

  it('streams a text completion as a StreamableFile', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/completions', { model: SMALL, prompt: 'Once upon a time', stream: true }));
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('text/event-stream');
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    expect(valueOf(await metrics(), REQUESTS, { model: SMALL, endpoint: 'completions', request_type: 'stream', status: 'success' })).toBe(
      1,
    );
  });

  it('streams a chat completion through @Sse() with POST', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/chat/completions/sse', { ...chatBody(), model: SMALL }));
    expect(res.status).toBe(200);
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    expect(
      valueOf(await metrics(), REQUESTS, { model: SMALL, endpoint: 'chat_completions', request_type: 'stream', status: 'success' }),
    ).toBe(1);
  });

  it('answers 404 for an unknown model, counted as an error of unknown_model', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/chat/completions', chatBody({ model: 'gpt-4o' })));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
    const text = await metrics();
    expect(valueOf(text, REQUESTS, { model: 'unknown_model', endpoint: 'chat_completions', request_type: 'unary', status: 'error' })).toBe(
      1,
    );
    expect(text).not.toContain('gpt-4o');
  });

  it('answers 400 for an invalid request, counted as an error', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/completions', { model: SMALL, prompt: 42 }));
    expect(res.status).toBe(400);
    expect(valueOf(await metrics(), REQUESTS, { model: SMALL, endpoint: 'completions', request_type: 'unary', status: 'error' })).toBe(1);
  });

  describe.each([
    ['written through @Res()', '/v1/chat/completions', 'chat_completions', chatBody({ stream: true })],
    ['a StreamableFile', '/v1/completions', 'completions', { model: LLAMA, prompt: 'Once upon a time', stream: true }],
    ['@Sse()', '/v1/chat/completions/sse', 'chat_completions', chatBody()],
  ])('a stream %s', (_, path, endpoint, body) => {
    let slowApp: RunningApp;
    beforeAll(async () => {
      slowApp = await startApp(AppModule.register({ tokenDelayMs: 40 }), { adapter });
    });
    afterAll(() => slowApp.close());

    it('abandoned by its client is counted as an error, and leaves nothing in flight', async () => {
      const received = await abandonAfter(slowApp.baseUrl, path, { body, chunks: 2 });
      expect(received).toContain('data: ');
      const text = await eventually(
        () => scrape(slowApp.baseUrl),
        (t) => sumOf(t, REQUESTS) >= 1,
      );
      expect(valueOf(text, REQUESTS, { model: LLAMA, endpoint, request_type: 'stream', status: 'error' })).toBe(1);
      expect(sumOf(text, REQUESTS, { status: 'success' })).toBe(0);
      expect(sumOf(text, INFLIGHT)).toBe(0);
    });
  });

  it('answers embeddings and records their input length', async () => {
    const res = await counted(() => postJson(app.baseUrl, '/v1/embeddings', { model: SMALL, input: ['one two three', 'four five'] }));
    expect(res.status).toBe(200);
    const list = JSON.parse(res.text) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    expect(list.data).toHaveLength(2);
    expect(list.usage.prompt_tokens).toBe(5);
    const base64 = await postJson(app.baseUrl, '/v1/embeddings', { model: SMALL, input: 'one two three', encoding_format: 'base64' });
    const encoded = (JSON.parse(base64.text) as { data: { embedding: string }[] }).data[0].embedding;
    const bytes = Buffer.from(encoded, 'base64');
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect([...floats].map((x) => x.toFixed(4))).toEqual(list.data[0].embedding.map((x) => x.toFixed(4)));
    const text = await eventually(
      metrics,
      (t) => valueOf(t, REQUESTS, { model: SMALL, endpoint: 'embeddings', request_type: 'unary', status: 'success' }) >= 2,
    );
    expect(valueOf(text, REQUESTS, { model: SMALL, endpoint: 'embeddings', request_type: 'unary', status: 'success' })).toBe(2);
    expect(valueOf(text, 'nv_llm_http_service_input_sequence_tokens_sum', { model: SMALL })).toBe(5 + 3);
  });

  describe.each([
    ['written through @Res()', '/v1/chat/completions', chatBody({ stream: true, max_tokens: 4 })],
    ['a StreamableFile', '/v1/completions', { model: LLAMA, prompt: 'Once upon a time', stream: true, max_tokens: 4 }],
    ['@Sse()', '/v1/chat/completions/sse', chatBody({ max_tokens: 4 })],
  ])('the streaming metrics of a stream %s', (_, path, body) => {
    const TOKEN_DELAY_MS = 40;
    let timedApp: RunningApp;
    beforeEach(async () => {
      timedApp = await startApp(AppModule.register({ tokenDelayMs: TOKEN_DELAY_MS }), { adapter });
    });
    afterEach(() => timedApp.close());

    const finished = () =>
      eventually(
        () => scrape(timedApp.baseUrl),
        (t) => sumOf(t, REQUESTS) >= 1,
      );

    it('record TTFT after the first token delay, ITL for each later token, and OSL from the chunks', async () => {
      await postJson(timedApp.baseUrl, path, body);
      const text = await finished();
      const ttft = valueOf(text, 'nv_llm_http_service_time_to_first_token_seconds_sum', { model: LLAMA });
      expect(valueOf(text, 'nv_llm_http_service_time_to_first_token_seconds_count', { model: LLAMA })).toBe(1);
      expect(ttft).toBeGreaterThanOrEqual((TOKEN_DELAY_MS - 5) / 1000);
      expect(ttft).toBeLessThan(1);
      expect(valueOf(text, 'nv_llm_http_service_inter_token_latency_seconds_count', { model: LLAMA })).toBe(4 - 1);
      expect(valueOf(text, 'nv_llm_http_service_output_sequence_tokens_sum', { model: LLAMA })).toBe(4);
    });

    it('record ISL and OSL from usage with stream_options.include_usage', async () => {
      const res = await postJson(timedApp.baseUrl, path, { ...body, stream_options: { include_usage: true } });
      const usage = (JSON.parse(sseData(res.text).at(-2)!) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
      const text = await finished();
      expect(valueOf(text, 'nv_llm_http_service_input_sequence_tokens_sum', { model: LLAMA })).toBe(usage.prompt_tokens);
      expect(valueOf(text, 'nv_llm_http_service_output_sequence_tokens_sum', { model: LLAMA })).toBe(usage.completion_tokens);
      expect(usage.completion_tokens).toBe(4);
    });
  });

  it('keeps /metrics behind a bearer token when one is set', async () => {
    const guarded = await startApp(AppModule.register({ tokenDelayMs: 0, metricsToken: 'scrape-me' }), { adapter });
    try {
      expect((await fetch(`${guarded.baseUrl}/metrics`)).status).toBe(403);
      expect((await fetch(`${guarded.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-m' } })).status).toBe(403);
      const allowed = await fetch(`${guarded.baseUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('# TYPE nv_llm_http_service_requests_total counter');
    } finally {
      await guarded.close();
    }
  });

  it('leaves a promtool-clean exposition with nothing in flight', async () => {
    const text = await metrics();
    expect(sumOf(text, INFLIGHT)).toBe(0);
    const { status, output } = promtoolCheck(text);
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});
