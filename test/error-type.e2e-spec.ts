import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const REQUESTS = 'nv_llm_http_service_requests_total';

describe.each(ADAPTERS)('the opt-in error_type label (errorType: true) (%s)', (adapter) => {
  let app: RunningApp;
  let model: string;
  let modelCount = 0;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register({ errorType: true, maxModels: 1000 }), { adapter });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    model = `model-${++modelCount}`;
  });

  /** The labels of the one request of the model, once it is counted. */
  const countedLabels = async () => {
    const text = await eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, REQUESTS, { model }) >= 1,
    );
    const lines = text.split('\n').filter((line) => line.startsWith(`${REQUESTS}{model="${model}"`));
    expect(lines).toHaveLength(1);
    expect(valueOf(text, 'nv_llm_http_service_inflight_requests', { model })).toBe(0);
    return lines[0];
  };

  it("is '' on success", async () => {
    await postJson(app.baseUrl, '/shapes/value', { model });
    expect(await countedLabels()).toBe(
      `${REQUESTS}{model="${model}",endpoint="completions",request_type="unary",status="success",error_type=""} 1`,
    );
  });

  it.each([
    [400, 'validation'],
    [404, 'not_found'],
    [429, 'overload'],
    [500, 'internal'],
    [501, 'not_implemented'],
    [503, 'unavailable'],
  ])('maps a thrown HttpException of status %i to %s', async (status, errorType) => {
    expect((await postJson(app.baseUrl, `/shapes/status/${status}`, { model })).status).toBe(status);
    expect(await countedLabels()).toContain(`status="error",error_type="${errorType}"} 1`);
  });

  it.each([
    [404, 'not_found'],
    [429, 'overload'],
    [503, 'unavailable'],
  ])('maps a status %i that a @Res() handler answers itself to %s', async (status, errorType) => {
    expect((await postJson(app.baseUrl, `/shapes/res-status/${status}`, { model })).status).toBe(status);
    expect(await countedLabels()).toContain(`status="error",error_type="${errorType}"} 1`);
  });

  it('counts a handler crash as internal', async () => {
    await postJson(app.baseUrl, '/shapes/crash', { model });
    expect(await countedLabels()).toContain('error_type="internal"');
  });

  it('counts an Observable erroring with an HttpException by its status', async () => {
    await postJson(app.baseUrl, '/shapes/observable-error', { model });
    expect(await countedLabels()).toContain('error_type="overload"');
  });

  it('counts a stream that fails midway as internal', async () => {
    await postJson(app.baseUrl, '/shapes/readable', { model, stream: true, chunks: 5, failAfter: 2 }).catch(() => undefined);
    expect(await countedLabels()).toContain('request_type="stream",status="error",error_type="internal"');
  });

  it.each([
    ['an @Sse() stream', '/shapes/sse-post'],
    ['a Readable stream', '/shapes/readable'],
    ['SSE written through @Res()', '/shapes/res'],
  ])('counts %s whose client disconnects as cancelled', async (_, path) => {
    await abandonAfter(app.baseUrl, path, { body: { model, stream: true, chunks: 100, delayMs: 20 }, chunks: 2 });
    expect(await countedLabels()).toContain('request_type="stream",status="error",error_type="cancelled"');
  });

  it('counts a unary request whose client leaves before the answer as cancelled', async () => {
    await abandonAfter(app.baseUrl, '/shapes/promise', { body: { model, delayMs: 300 }, afterMs: 50 });
    expect(await countedLabels()).toContain('request_type="unary",status="error",error_type="cancelled"');
  });

  it('keeps the error type a handler marks in-band', async () => {
    await postJson(app.baseUrl, '/shapes/res-reported', { model, stream: true, chunks: 1, markError: 'overload' });
    expect(await countedLabels()).toContain('status="error",error_type="overload"');
  });

  it('leaves the exposition promtool-clean', async () => {
    const { status, output } = promtoolCheck(await scrape(app.baseUrl));
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});
