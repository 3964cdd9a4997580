import { Module } from '@nestjs/common';
import { LlmMetricsModule } from '../src/index.js';
import { CountingRulesController } from './app/counting-rules.controller.js';
import { sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';
const DURATION_COUNT = 'nv_llm_http_service_request_duration_seconds_count';

@Module({ imports: [LlmMetricsModule.forRoot({ errorType: true })], controllers: [CountingRulesController] })
class CountingRulesAppModule {}

/** The labels of a chat completion counted with `status` (and `errorType`). */
function counted(status: 'success' | 'error', errorType = '', requestType = 'unary') {
  return { model: 'm', endpoint: 'chat_completions', request_type: requestType, status, error_type: errorType };
}

describe.each(ADAPTERS)('counts follow what the client received (%s)', (adapter) => {
  let app: RunningApp;
  beforeEach(async () => {
    app = await startApp(CountingRulesAppModule, { adapter });
  });
  afterEach(async () => {
    await app.close();
  });

  /** Sends one request, checks its answer, and that it was counted once as `labels`, nothing left in flight. */
  async function expectCountedOnce(path: string, answer: { status: number; body?: unknown }, labels: Record<string, string>) {
    const response = await postJson(app.baseUrl, path, { model: 'm', id: path });
    expect(response.status).toBe(answer.status);
    if (answer.body !== undefined) {
      expect(JSON.parse(response.text)).toEqual(answer.body);
    }
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, labels)).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(1);
    expect(valueOf(text, DURATION_COUNT, { model: 'm' })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  }

  it('counts an interceptor that throws after the handler (a 502) as an error', async () => {
    await expectCountedOnce('/rules/interceptor-throws', { status: 502 }, counted('error', 'internal'));
  });

  it('counts a handler an interceptor retries into a 201 as one success', async () => {
    await expectCountedOnce('/rules/retried', { status: 201, body: { model: 'm', attempt: 2 } }, counted('success'));
  });

  it("counts NestJS's TimeoutInterceptor answering 408 as an error when the 408 is sent, though the handler never resolves", async () => {
    await expectCountedOnce('/rules/timeout', { status: 408 }, counted('error', 'validation'));
    // The handler is still pending: the request is over for the client, and for the metrics.
    expect(sumOf(await scrape(app.baseUrl), 'nv_llm_http_service_request_duration_seconds_bucket', { model: 'm', le: '1' })).toBe(1);
  });

  it('counts a value Nest fails to serialize (a 500) as an error', async () => {
    await expectCountedOnce('/rules/unserializable', { status: 500 }, counted('error', 'internal'));
  });

  it('counts @Res({ passthrough: true }) with res.status(503) as an error', async () => {
    await expectCountedOnce('/rules/passthrough-503', { status: 503, body: { error: 'overloaded' } }, counted('error', 'unavailable'));
  });

  it('counts an error an exception filter rewrites by the status it sends', async () => {
    await expectCountedOnce('/rules/filter-503', { status: 503, body: { error: 'engine unavailable' } }, counted('error', 'unavailable'));
  });

  it('counts an error an exception filter answers with a 200 as a success, by the status it sends', async () => {
    await expectCountedOnce('/rules/filter-200', { status: 200, body: { error: 'model not found' } }, counted('success'));
  });

  it('counts a route that fails after its head was sent as an error, though the status was 200', async () => {
    const response = await postJson(app.baseUrl, '/rules/fails-after-head', { model: 'm' });
    expect(response.status).toBe(200);
    const text = await eventually(
      () => scrape(app.baseUrl),
      (body) => sumOf(body, REQUESTS) === 1,
    );
    expect(valueOf(text, REQUESTS, counted('error', 'internal', 'stream'))).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts a client that goes away before the answer as an error, when it goes', async () => {
    await abandonAfter(app.baseUrl, '/rules/timeout', { body: { model: 'm' }, afterMs: 20 });
    const text = await eventually(
      () => scrape(app.baseUrl),
      (body) => sumOf(body, REQUESTS) === 1,
    );
    expect(valueOf(text, REQUESTS, counted('error', 'cancelled'))).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });
});
