import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { hasSample, sumOf, valueBefore, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';
const DURATION_COUNT = 'nv_llm_http_service_request_duration_seconds_count';

describe.each(ADAPTERS)('every response shape is counted once, when it really ends (%s)', (adapter) => {
  let running: RunningApp;
  let model: string;
  let modelCount = 0;

  beforeAll(async () => {
    running = await startApp(ResponseShapesAppModule.register(), { adapter });
  });
  afterAll(() => running.close());
  // A fresh model per test keeps the counts of each test apart.
  beforeEach(() => {
    model = `model-${++modelCount}`;
  });

  const requests = async (labels: Record<string, string>) => valueOf(await scrape(running.baseUrl), REQUESTS, { model, ...labels });
  /** Whether any request of the model was counted with these labels. */
  const anyCounted = async (labels: Record<string, string>) => hasSample(await scrape(running.baseUrl), REQUESTS, { model, ...labels });
  // 0 before the model's first request.
  const inflight = async () => valueBefore(await scrape(running.baseUrl), INFLIGHT, { model });
  /** Waits until `count` requests of the model are counted, then returns the exposition. */
  const settled = (count: number) =>
    eventually(
      () => scrape(running.baseUrl),
      (text) => sumOf(text, REQUESTS, { model }) >= count,
    );

  const unary = (endpoint: string, status: string) => ({ endpoint, request_type: 'unary', status });
  const stream = (endpoint: string, status: string) => ({ endpoint, request_type: 'stream', status });

  it('counts a plain value as a unary success', async () => {
    const res = await postJson(running.baseUrl, '/shapes/value', { model });
    expect(res.status).toBe(200);
    const text = await settled(1);
    expect(valueOf(text, REQUESTS, { model, ...unary('completions', 'success') })).toBe(1);
    expect(valueOf(text, INFLIGHT, { model })).toBe(0);
    expect(valueOf(text, DURATION_COUNT, { model })).toBe(1);
  });

  it('counts a Promise as a unary success', async () => {
    expect((await postJson(running.baseUrl, '/shapes/promise', { model })).status).toBe(200);
    await settled(1);
    expect(await requests(unary('completions', 'success'))).toBe(1);
  });

  it('counts an Observable as a unary success, once it completes', async () => {
    expect((await postJson(running.baseUrl, '/shapes/observable', { model, delayMs: 20 })).status).toBe(200);
    await settled(1);
    expect(await requests(unary('chat_completions', 'success'))).toBe(1);
    expect(await inflight()).toBe(0);
  });

  it('counts a unary request whose client goes away before the answer as an error', async () => {
    await abandonAfter(running.baseUrl, '/shapes/observable', { body: { model, delayMs: 300 }, afterMs: 50 }).catch(() => '');
    await settled(1);
    expect(await requests(unary('chat_completions', 'error'))).toBe(1);
    expect(await inflight()).toBe(0);
  });

  it('counts a Promise whose client goes away before it resolves as an error', async () => {
    await abandonAfter(running.baseUrl, '/shapes/promise', { body: { model, delayMs: 300 }, afterMs: 50 }).catch(() => '');
    await settled(1);
    expect(await requests(unary('completions', 'error'))).toBe(1);
    expect(await anyCounted(unary('completions', 'success'))).toBe(false);
    expect(await inflight()).toBe(0);
  });

  it.each([400, 404, 429, 500, 501, 503])('counts an HttpException with status %i as an error', async (code) => {
    const res = await postJson(running.baseUrl, `/shapes/status/${code}`, { model });
    expect(res.status).toBe(code);
    await settled(1);
    expect(await requests(unary('chat_completions', 'error'))).toBe(1);
    expect(await anyCounted(unary('chat_completions', 'success'))).toBe(false);
    expect(await inflight()).toBe(0);
  });

  it('counts a handler that crashes as an error', async () => {
    expect((await postJson(running.baseUrl, '/shapes/crash', { model })).status).toBe(500);
    await settled(1);
    expect(await requests(unary('chat_completions', 'error'))).toBe(1);
  });

  it('counts an Observable that errors as an error', async () => {
    expect((await postJson(running.baseUrl, '/shapes/observable-error', { model })).status).toBe(429);
    await settled(1);
    expect(await requests(unary('chat_completions', 'error'))).toBe(1);
  });

  it('counts a streamed request as a stream when the body asks for one', async () => {
    const res = await postJson(running.baseUrl, '/shapes/value', { model, stream: true });
    expect(res.status).toBe(200);
    await settled(1);
    expect(await requests(stream('completions', 'success'))).toBe(1);
  });

  describe.each([
    ['a Readable', '/shapes/readable'],
    ['a StreamableFile', '/shapes/streamable-file'],
    ['an async generator', '/shapes/async-generator'],
  ])('%s', (_, path) => {
    it('is a success once the whole stream is delivered, and not before', async () => {
      const pending = postJson(running.baseUrl, path, { model, stream: true, chunks: 5, delayMs: 40 });
      await eventually(inflight, (value) => value === 1);
      expect(await inflight()).toBe(1);
      expect(await anyCounted(stream('completions', 'success'))).toBe(false);
      const res = await pending;
      expect(res.status).toBe(201);
      expect(res.text).toContain('data: [DONE]');
      await settled(1);
      expect(await requests(stream('completions', 'success'))).toBe(1);
      expect(await inflight()).toBe(0);
    });

    it('is an error when the stream fails midway', async () => {
      await postJson(running.baseUrl, path, { model, stream: true, chunks: 5, failAfter: 2 }).catch(() => undefined);
      await settled(1);
      expect(await requests(stream('completions', 'error'))).toBe(1);
      expect(await anyCounted(stream('completions', 'success'))).toBe(false);
      expect(await inflight()).toBe(0);
    });

    it('counts a stream the client abandons as an error', async () => {
      const received = await abandonAfter(running.baseUrl, path, { body: { model, stream: true, chunks: 50, delayMs: 20 }, chunks: 2 });
      expect(received).toContain('data: ');
      await settled(1);
      expect(await requests(stream('completions', 'error'))).toBe(1);
      expect(await inflight()).toBe(0);
    });
  });

  describe('an @Sse() Observable', () => {
    it('is a stream success when it completes (GET)', async () => {
      const response = await fetch(`${running.baseUrl}/shapes/sse?chunks=3&delayMs=5`);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      expect(await response.text()).toContain('t2');
      // GET has no body: the model is unknown, and the route always streams
      const text = await eventually(
        () => scrape(running.baseUrl),
        (t) => valueOf(t, REQUESTS, { model: 'unknown_model', ...stream('chat_completions', 'success') }) >= 1,
      );
      expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...stream('chat_completions', 'success') })).toBe(1);
    });

    it('is a stream success when it completes (POST), even without stream: true', async () => {
      const res = await postJson(running.baseUrl, '/shapes/sse-post', { model, chunks: 3 });
      expect(res.text).toContain('data: [DONE]');
      await settled(1);
      expect(await requests(stream('chat_completions', 'success'))).toBe(1);
      expect(await inflight()).toBe(0);
    });

    it('is an error when it errors midway', async () => {
      const res = await postJson(running.baseUrl, '/shapes/sse-post', { model, chunks: 5, failAfter: 2 });
      expect(res.text).toContain('event: error');
      await settled(1);
      expect(await requests(stream('chat_completions', 'error'))).toBe(1);
    });

    it('counts a client that disconnects as an error', async () => {
      await abandonAfter(running.baseUrl, '/shapes/sse-post', { body: { model, chunks: 100, delayMs: 20 }, chunks: 2 });
      await settled(1);
      expect(await requests(stream('chat_completions', 'error'))).toBe(1);
      expect(await anyCounted(stream('chat_completions', 'success'))).toBe(false);
      expect(await inflight()).toBe(0);
    });
  });

  describe('a handler that writes the response itself (@Res())', () => {
    it('is a unary success when it answers JSON', async () => {
      expect((await postJson(running.baseUrl, '/shapes/res', { model })).status).toBe(200);
      await settled(1);
      expect(await requests(unary('chat_completions', 'success'))).toBe(1);
    });

    it('is a stream success once the SSE it writes by hand ends', async () => {
      const pending = postJson(running.baseUrl, '/shapes/res', { model, stream: true, chunks: 4, delayMs: 40 });
      await eventually(inflight, (value) => value === 1);
      expect(await anyCounted(stream('chat_completions', 'success'))).toBe(false);
      const res = await pending;
      expect(res.contentType).toContain('text/event-stream');
      expect(res.text).toContain('data: [DONE]');
      await settled(1);
      expect(await requests(stream('chat_completions', 'success'))).toBe(1);
      expect(await inflight()).toBe(0);
    });

    it('counts an SSE client that disconnects as an error', async () => {
      await abandonAfter(running.baseUrl, '/shapes/res', { body: { model, stream: true, chunks: 100, delayMs: 20 }, chunks: 2 });
      await settled(1);
      expect(await requests(stream('chat_completions', 'error'))).toBe(1);
      expect(await inflight()).toBe(0);
    });

    it.each([400, 404, 500, 503])('is an error when it answers status %i itself', async (code) => {
      expect((await postJson(running.baseUrl, `/shapes/res-status/${code}`, { model })).status).toBe(code);
      await settled(1);
      expect(await requests(unary('chat_completions', 'error'))).toBe(1);
    });

    it('ends when the response does, not when the handler returns', async () => {
      const pending = postJson(running.baseUrl, '/shapes/res-detached', { model, delayMs: 150 });
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await inflight()).toBe(1);
      expect((await pending).status).toBe(200);
      await settled(1);
      expect(await requests(unary('chat_completions', 'success'))).toBe(1);
      expect(await inflight()).toBe(0);
    });

    it('with passthrough is tracked like any returned value', async () => {
      const res = await postJson(running.baseUrl, '/shapes/res-passthrough', { model });
      expect(res.status).toBe(200);
      await settled(1);
      expect(await requests(unary('completions', 'success'))).toBe(1);
    });
  });

  describe('@TrackLlm() on a controller class', () => {
    it('tracks a method without its own decorator under the class endpoint', async () => {
      await postJson(running.baseUrl, '/class-tracked/inherits', { model });
      await settled(1);
      expect(await requests(unary('completions', 'success'))).toBe(1);
    });

    it("lets a method's own decorator win, counting the request once", async () => {
      await postJson(running.baseUrl, '/class-tracked/overrides', { model });
      const text = await settled(1);
      expect(sumOf(text, REQUESTS, { model })).toBe(1);
      expect(valueOf(text, REQUESTS, { model, ...unary('chat_completions', 'success') })).toBe(1);
      expect(valueOf(text, DURATION_COUNT, { model })).toBe(1);
    });
  });

  it('counts a custom endpoint under its own name', async () => {
    await postJson(running.baseUrl, '/shapes/rerank', { model });
    await settled(1);
    expect(await requests(unary('rerank', 'success'))).toBe(1);
  });

  it('does not track an undecorated route, nor the metrics route itself', async () => {
    const before = await scrape(running.baseUrl);
    await fetch(`${running.baseUrl}/shapes/untracked`);
    await scrape(running.baseUrl);
    const after = await scrape(running.baseUrl);
    expect(sumOf(after, REQUESTS)).toBe(sumOf(before, REQUESTS));
  });
});
