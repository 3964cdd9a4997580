import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { hasSample, samplesOf, sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const P = 'nv_llm_http_service_';
const REQUESTS = `${P}requests_total`;

/** Count and sum of a histogram of `model`. */
function histogram(text: string, name: string, model: string): { count: number; sum: number } {
  return {
    count: valueOf(text, `${P}${name}_count`, { model }),
    sum: valueOf(text, `${P}${name}_sum`, { model }),
  };
}

/** Whether the histogram `name` has a series of `model`: it has none until its first observation. */
function observed(text: string, name: string, model: string): boolean {
  return hasSample(text, `${P}${name}_count`, { model });
}

describe.each(ADAPTERS)('streaming metrics, measured over real HTTP (%s)', (adapter) => {
  let app: RunningApp;
  let model: string;
  let modelCount = 0;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register({ maxModels: 1000 }), { adapter });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    model = `model-${++modelCount}`;
  });

  const counted = () =>
    eventually(
      () => scrape(app.baseUrl),
      (text) => sumOf(text, REQUESTS, { model }) >= 1,
    );

  // Every streaming style, with a known delay before each of its chunks.
  describe.each([
    ['SSE written through @Res()', '/shapes/res', 'chat_completions'],
    ['a Readable of SSE lines', '/shapes/readable', 'completions'],
    ['a StreamableFile of SSE lines', '/shapes/streamable-file', 'completions'],
    ['an async generator of SSE lines', '/shapes/async-generator', 'completions'],
    ['an @Sse() Observable', '/shapes/sse-post', 'chat_completions'],
  ])('%s', (_, path, endpoint) => {
    const DELAY_MS = 60;
    const CHUNKS = 5;

    it('records TTFT at the first token, and one ITL per later token', async () => {
      await postJson(app.baseUrl, path, { model, stream: true, chunks: CHUNKS, delayMs: DELAY_MS });
      const text = await counted();
      const ttft = histogram(text, 'time_to_first_token_seconds', model);
      expect(ttft.count).toBe(1);
      expect(ttft.sum).toBeGreaterThanOrEqual((DELAY_MS - 5) / 1000);
      expect(ttft.sum).toBeLessThan((DELAY_MS + 500) / 1000);
      const itl = histogram(text, 'inter_token_latency_seconds', model);
      expect(itl.count).toBe(CHUNKS - 1);
      expect(itl.sum / itl.count).toBeGreaterThanOrEqual((DELAY_MS - 15) / 1000);
      expect(itl.sum / itl.count).toBeLessThan((DELAY_MS + 500) / 1000);
    });

    it('counts one output token per content chunk for the OSL of a stream without usage, and records no ISL', async () => {
      await postJson(app.baseUrl, path, { model, stream: true, chunks: CHUNKS });
      const text = await counted();
      expect(histogram(text, 'output_sequence_tokens', model)).toEqual({ count: 1, sum: CHUNKS });
      expect(observed(text, 'input_sequence_tokens', model)).toBe(false);
    });

    it('takes ISL and OSL from the usage chunk of stream_options.include_usage', async () => {
      await postJson(app.baseUrl, path, { model, stream: true, chunks: CHUNKS, usage: { prompt_tokens: 321, completion_tokens: 77 } });
      const text = await counted();
      expect(histogram(text, 'input_sequence_tokens', model)).toEqual({ count: 1, sum: 321 });
      expect(histogram(text, 'output_sequence_tokens', model)).toEqual({ count: 1, sum: 77 });
    });

    it('keeps the TTFT and ITL of a stream the client abandons, but records no lengths', async () => {
      await abandonAfter(app.baseUrl, path, {
        body: { model, stream: true, chunks: 50, delayMs: 20, usage: { prompt_tokens: 1, completion_tokens: 1 } },
        afterMs: 150,
      });
      const text = await counted();
      expect(valueOf(text, REQUESTS, { model, endpoint, request_type: 'stream', status: 'error' })).toBe(1);
      expect(histogram(text, 'time_to_first_token_seconds', model).count).toBe(1);
      expect(histogram(text, 'inter_token_latency_seconds', model).count).toBeGreaterThanOrEqual(1);
      expect(observed(text, 'output_sequence_tokens', model)).toBe(false);
      expect(observed(text, 'input_sequence_tokens', model)).toBe(false);
    });
  });

  it('records ISL and OSL of a unary response from its usage, and no TTFT', async () => {
    await postJson(app.baseUrl, '/shapes/value', { model, usage: { prompt_tokens: 1500, completion_tokens: 250 } });
    const text = await counted();
    expect(histogram(text, 'input_sequence_tokens', model)).toEqual({ count: 1, sum: 1500 });
    expect(histogram(text, 'output_sequence_tokens', model)).toEqual({ count: 1, sum: 250 });
    expect(observed(text, 'time_to_first_token_seconds', model)).toBe(false);
    const buckets = samplesOf(text, `${P}input_sequence_tokens_bucket`, { model });
    expect(buckets.find((sample) => sample.labels.le === '1000')?.value).toBe(0);
    expect(buckets.find((sample) => sample.labels.le === '2000')?.value).toBe(1);
  });

  it('records no lengths for a unary response without usage', async () => {
    await postJson(app.baseUrl, '/shapes/value', { model });
    const text = await counted();
    expect(observed(text, 'input_sequence_tokens', model)).toBe(false);
    expect(observed(text, 'output_sequence_tokens', model)).toBe(false);
  });

  it('reads the usage of a unary JSON answer written through @Res()', async () => {
    const res = await postJson(app.baseUrl, '/shapes/res', { model, usage: { prompt_tokens: 64, completion_tokens: 128 } });
    expect(res.status).toBe(200);
    const text = await counted();
    expect(histogram(text, 'input_sequence_tokens', model)).toEqual({ count: 1, sum: 64 });
    expect(histogram(text, 'output_sequence_tokens', model)).toEqual({ count: 1, sum: 128 });
  });

  it('uses the token counts a handler reports through @RequestMetrics() instead of counting chunks', async () => {
    await postJson(app.baseUrl, '/shapes/res-reported', { model, stream: true, chunks: 4, delayMs: 20 });
    const text = await counted();
    expect(histogram(text, 'output_sequence_tokens', model)).toEqual({ count: 1, sum: 8 });
    expect(histogram(text, 'input_sequence_tokens', model)).toEqual({ count: 1, sum: 11 });
    expect(histogram(text, 'inter_token_latency_seconds', model).count).toBe(3 * 2);
    expect(valueOf(text, REQUESTS, { model, endpoint: 'chat_completions', request_type: 'stream', status: 'success' })).toBe(1);
  });

  it('counts a stream whose handler marks an in-band error as an error, though it ends well', async () => {
    await postJson(app.baseUrl, '/shapes/res-reported', { model, stream: true, chunks: 2, markError: 'overload' });
    const text = await counted();
    expect(valueOf(text, REQUESTS, { model, endpoint: 'chat_completions', request_type: 'stream', status: 'error' })).toBe(1);
    expect(observed(text, 'output_sequence_tokens', model)).toBe(false);
  });

  it('hands a route that is not tracked a handle that does nothing', async () => {
    const res = await postJson(app.baseUrl, '/shapes/untracked-reported', {});
    expect(JSON.parse(res.text)).toEqual({ tracked: false, model: null });
  });

  it('leaves the exposition promtool-clean', async () => {
    const { status, output } = promtoolCheck(await scrape(app.baseUrl));
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});
