import { AppModule, type SampleOptions } from '../sample/app.module.js';
import { DYNAMO_FRONTEND_LE, DYNAMO_FRONTEND_REFERENCE } from './support/dynamo-frontend.reference.js';
import { hasSample, parseExposition, sumOf, valueBefore, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const P = 'dynamo_frontend_';
const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';
/** Models of the mock engine that fail every request with a status. */
const FAILURES = { 'mock-busy': 429, 'mock-broken': 500, 'mock-partial': 501, 'mock-loading': 503, 'mock-saturated': 529 };

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content }],
  ...extra,
});

/** The sample in the dynamo-frontend schema. */
function frontendApp(options: SampleOptions = {}) {
  return AppModule.register({
    tokenDelayMs: 2,
    failures: FAILURES,
    ...options,
    metrics: { schema: 'dynamo-frontend', ...options.metrics },
  });
}

describe.each(ADAPTERS)('the sample in the dynamo-frontend schema (%s)', (adapter) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(frontendApp(), { adapter });
  });
  afterAll(() => app.close());

  const metrics = () => scrape(app.baseUrl);
  /** Sends, then waits until the request is counted. */
  async function counted(path: string, body: unknown): Promise<{ status: number; text: string }> {
    const before = sumOf(await metrics(), `${P}requests_total`);
    const response = await postJson(app.baseUrl, path, body);
    await eventually(metrics, (text) => sumOf(text, `${P}requests_total`) > before);
    return response;
  }
  const requests = (labels: Record<string, string>) => metrics().then((text) => valueOf(text, `${P}requests_total`, labels));
  const requestsBefore = (labels: Record<string, string>) => metrics().then((text) => valueBefore(text, `${P}requests_total`, labels));

  it('exposes every metric of the reference with its name, type and help text, and its histograms with Dynamo’s le values', async () => {
    await counted('/v1/chat/completions', chat(SMALL, 'warm up the histograms', { stream: true, stream_options: { include_usage: true } }));
    await counted('/v1/embeddings', { model: SMALL, input: 'one two' });
    const text = await metrics();
    for (const [suffix, type, labels, help] of DYNAMO_FRONTEND_REFERENCE) {
      expect(text).toContain(`# HELP ${P}${suffix} ${help}\n# TYPE ${P}${suffix} ${type}\n`);
      const samples = parseExposition(text).filter(({ name }) => name.startsWith(`${P}${suffix}`));
      for (const sample of samples) {
        expect({
          suffix,
          labels: Object.keys(sample.labels)
            .filter((label) => label !== 'le')
            .sort(),
        }).toEqual({ suffix, labels: [...labels].sort() });
      }
    }
    for (const [suffix, le] of Object.entries(DYNAMO_FRONTEND_LE)) {
      const bounds = parseExposition(text)
        .filter(({ name, labels }) => name === `${P}${suffix}_bucket` && labels.model === SMALL)
        .map(({ labels }) => labels.le);
      expect({ suffix, bounds: bounds.join(', ') }).toEqual({ suffix, bounds: `${le}, +Inf` });
    }
  });

  it('counts a unary chat with its usage and cached tokens: started, success, lengths, output tokens, no token timing', async () => {
    const prompt = 'a prompt the prefix cache will hold';
    for (let i = 0; i < 2; i++) {
      const response = await counted('/v1/chat/completions', chat(LLAMA, prompt));
      expect(JSON.parse(response.text).usage).toEqual({
        prompt_tokens: 7,
        completion_tokens: 16,
        total_tokens: 23,
        prompt_tokens_details: { cached_tokens: i * 7 },
        completion_tokens_details: { reasoning_tokens: 0 },
      });
    }
    const text = await metrics();
    const llama = { model: LLAMA };
    expect(
      valueOf(text, `${P}requests_total`, {
        ...llama,
        endpoint: 'chat_completions',
        request_type: 'unary',
        status: 'success',
        error_type: '',
      }),
    ).toBe(2);
    expect(valueOf(text, `${P}requests_started_total`, { ...llama, endpoint: 'chat_completions', request_type: 'unary' })).toBe(2);
    expect(valueOf(text, `${P}input_sequence_tokens_sum`, llama)).toBe(14);
    expect(valueOf(text, `${P}output_sequence_tokens_sum`, llama)).toBe(32);
    expect(valueOf(text, `${P}output_tokens_total`, llama)).toBe(32);
    expect(valueOf(text, `${P}cached_tokens_count`, llama)).toBe(2);
    expect(valueOf(text, `${P}cached_tokens_sum`, llama)).toBe(7);
    expect(hasSample(text, `${P}time_to_first_token_seconds_count`, llama)).toBe(false);
    expect(valueOf(text, `${P}request_duration_seconds_count`, llama)).toBe(2);
  });

  it('counts streamed chats and completions: time to first token, inter-token latencies, live output tokens, usage', async () => {
    const before = await metrics();
    await counted('/v1/chat/completions', chat(SMALL, 'stream it', { stream: true, stream_options: { include_usage: true } }));
    await counted('/v1/completions', { model: SMALL, prompt: 'once upon a time', stream: true, stream_options: { include_usage: true } });
    await counted('/v1/chat/completions/sse', chat(SMALL, 'through sse'));
    const text = await metrics();
    const grown = (name: string, labels: Record<string, string> = {}) =>
      sumOf(text, name, { model: SMALL, ...labels }) - sumOf(before, name, { model: SMALL, ...labels });
    // The @Sse() route streams though its body does not say so: a stream from its start.
    expect(grown(`${P}requests_started_total`, { request_type: 'stream' })).toBe(3);
    expect(grown(`${P}time_to_first_token_seconds_count`)).toBe(3);
    expect(grown(`${P}inter_token_latency_seconds_count`)).toBe(45);
    expect(grown(`${P}output_tokens_total`)).toBe(48);
    expect(grown(`${P}output_sequence_tokens_sum`)).toBe(48);
    expect(grown(`${P}input_sequence_tokens_count`)).toBe(2);
    for (const endpoint of ['chat_completions', 'completions']) {
      expect(
        sumOf(text, `${P}requests_total`, { model: SMALL, endpoint, request_type: 'stream', status: 'success', error_type: '' }),
      ).toBeGreaterThanOrEqual(1);
    }
    expect(valueOf(text, `${P}queued_requests`, { model: SMALL })).toBe(0);
    expect(valueOf(text, `${P}active_requests`, { model: SMALL })).toBe(0);
  });

  it('counts embeddings with their latency and input length', async () => {
    const before = await metrics();
    await counted('/v1/embeddings', { model: LLAMA, input: ['one two three', 'four'] });
    const text = await metrics();
    const grown = (name: string) => sumOf(text, name, { model: LLAMA }) - sumOf(before, name, { model: LLAMA });
    expect(grown(`${P}embedding_latency_seconds_count`)).toBe(1);
    expect(grown(`${P}input_sequence_tokens_sum`)).toBe(4);
    expect(
      valueOf(text, `${P}requests_total`, {
        model: LLAMA,
        endpoint: 'embeddings',
        request_type: 'unary',
        status: 'success',
        error_type: '',
      }),
    ).toBe(1);
  });

  it.each([
    [400, chat(LLAMA, 'x', { messages: 'not a list' }), LLAMA, 'validation'],
    [404, chat('gpt-4o', 'x'), 'unknown_model', 'not_found'],
    [429, chat('mock-busy', 'x'), 'mock-busy', 'overload'],
    [500, chat('mock-broken', 'x'), 'mock-broken', 'internal'],
    [501, chat('mock-partial', 'x'), 'mock-partial', 'not_implemented'],
    [503, chat('mock-loading', 'x'), 'mock-loading', 'unavailable'],
    [529, chat('mock-saturated', 'x'), 'mock-saturated', 'overload'],
  ])('counts a %i answer as an error of its error type', async (status, body, model, errorType) => {
    const before = await requestsBefore({
      model,
      endpoint: 'chat_completions',
      request_type: 'unary',
      status: 'error',
      error_type: errorType,
    });
    const response = await counted('/v1/chat/completions', body);
    expect(response.status).toBe(status);
    expect(await requests({ model, endpoint: 'chat_completions', request_type: 'unary', status: 'error', error_type: errorType })).toBe(
      before + 1,
    );
  });

  it('counts a stream its client abandons as a disconnect, a cancellation and a cancelled request, with nothing left active', async () => {
    const before = await metrics();
    await abandonAfter(app.baseUrl, '/v1/chat/completions', { body: chat(LLAMA, 'abandon me', { stream: true }), chunks: 2 });
    const text = await eventually(
      metrics,
      (current) => sumOf(current, `${P}disconnected_clients`) > sumOf(before, `${P}disconnected_clients`),
    );
    expect(sumOf(text, `${P}disconnected_clients`) - sumOf(before, `${P}disconnected_clients`)).toBe(1);
    expect(valueOf(text, `${P}model_cancellation_total`, { model: LLAMA, endpoint: 'chat_completions', request_type: 'stream' })).toBe(1);
    expect(
      valueOf(text, `${P}requests_total`, {
        model: LLAMA,
        endpoint: 'chat_completions',
        request_type: 'stream',
        status: 'error',
        error_type: 'cancelled',
      }),
    ).toBe(1);
    expect(valueOf(text, `${P}active_requests`, { model: LLAMA })).toBe(0);
    expect(valueOf(text, `${P}queued_requests`, { model: LLAMA })).toBe(0);
  });

  it('tells each model’s readiness: a model failing with 503 is not ready', async () => {
    const text = await metrics();
    expect(valueOf(text, `${P}model_ready`, { model: LLAMA })).toBe(1);
    expect(valueOf(text, `${P}model_ready`, { model: 'mock-busy' })).toBe(1);
    expect(valueOf(text, `${P}model_ready`, { model: 'mock-loading' })).toBe(0);
  });

  it('leaves an exposition promtool accepts', async () => {
    expect(promtoolCheck(await metrics())).toEqual({ status: 0, output: '' });
  });
});

describe.each(ADAPTERS)('a live, slow stream in the dynamo-frontend schema (%s)', (adapter) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(frontendApp({ tokenDelayMs: 300, capacity: 1 }), { adapter });
  });
  afterAll(() => app.close());

  // Each as it is now: 0 before the model's first request (and the output tokens before its first token).
  const gauges = async () => {
    const text = await scrape(app.baseUrl);
    return Object.fromEntries(
      ['active_requests', 'inflight_requests', 'queued_requests', 'output_tokens_total'].map((name) => [
        name,
        valueBefore(text, `${P}${name}`, { model: LLAMA }),
      ]),
    );
  };

  it('is queued until its first token, then active only; a chat the engine has no room for meanwhile is rejected, as overload', async () => {
    const stream = postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'slowly', { stream: true, max_tokens: 3 }));
    await eventually(gauges, (values) => values.active_requests === 1);
    expect(await gauges()).toEqual({ active_requests: 1, inflight_requests: 1, queued_requests: 1, output_tokens_total: 0 });

    const rejected = await postJson(app.baseUrl, '/v1/chat/completions', chat(LLAMA, 'no room'));
    expect(rejected.status).toBe(529);
    expect(JSON.parse(rejected.text).error.type).toBe('overloaded_error');

    await eventually(gauges, (values) => values.output_tokens_total >= 1);
    expect(await gauges()).toMatchObject({ active_requests: 1, inflight_requests: 1, queued_requests: 0 });
    expect((await stream).status).toBe(200);
    const text = await eventually(
      () => scrape(app.baseUrl),
      (current) => valueOf(current, `${P}active_requests`, { model: LLAMA }) === 0,
    );
    expect(valueOf(text, `${P}model_rejection_total`, { model: LLAMA, endpoint: 'chat_completions' })).toBe(1);
    expect(
      valueOf(text, `${P}requests_total`, {
        model: LLAMA,
        endpoint: 'chat_completions',
        request_type: 'unary',
        status: 'error',
        error_type: 'overload',
      }),
    ).toBe(1);
    expect(
      valueOf(text, `${P}requests_total`, {
        model: LLAMA,
        endpoint: 'chat_completions',
        request_type: 'stream',
        status: 'success',
        error_type: '',
      }),
    ).toBe(1);
    expect(valueOf(text, `${P}output_tokens_total`, { model: LLAMA })).toBe(3);
  });
});
