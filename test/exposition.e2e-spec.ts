import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { promtoolCheck } from './support/promtool.js';
import { type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { sumOf } from './support/exposition.js';

/** Traffic that touches every label combination: endpoints, request types, statuses. */
async function driveTraffic(app: RunningApp): Promise<void> {
  await postJson(app.baseUrl, '/shapes/value', { model: 'llama' });
  await postJson(app.baseUrl, '/shapes/value', { model: 'llama', stream: true });
  await postJson(app.baseUrl, '/shapes/status/503', { model: 'llama' });
  await postJson(app.baseUrl, '/shapes/readable', { model: 'mistral', stream: true, chunks: 2 });
  await postJson(app.baseUrl, '/shapes/res', { model: 'mistral', stream: true, chunks: 2 });
  await abandonAfter(app.baseUrl, '/shapes/sse-post', { body: { model: 'mistral', chunks: 50, delayMs: 10 }, chunks: 1 });
  await postJson(app.baseUrl, '/shapes/value', { model: 'with "quotes", \\ and\nnewline' });
}

describe('the exposition', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register());
  });
  afterAll(() => app.close());

  it('is exactly the 0.2.1 schema: names, types and help texts', async () => {
    const text = await scrape(app.baseUrl);
    const metadata = text.split('\n').filter((line) => line.startsWith('#'));
    expect(metadata).toEqual([
      '# HELP nv_llm_http_service_requests_total Total number of LLM requests processed',
      '# TYPE nv_llm_http_service_requests_total counter',
      '# HELP nv_llm_http_service_inflight_requests Number of inflight requests',
      '# TYPE nv_llm_http_service_inflight_requests gauge',
      '# HELP nv_llm_http_service_request_duration_seconds Duration of LLM requests',
      '# TYPE nv_llm_http_service_request_duration_seconds histogram',
    ]);
  });

  it('passes promtool check metrics after traffic of every kind', async () => {
    await driveTraffic(app);
    const text = await eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, 'nv_llm_http_service_requests_total') >= 7,
    );
    expect(sumOf(text, 'nv_llm_http_service_requests_total')).toBe(7);
    expect(text).toContain(
      'nv_llm_http_service_request_duration_seconds_bucket{le="0",model="llama"}',
    );
    for (const le of ['1', '2', '4', '8', '16', '32', '64', '128', '256', '+Inf']) {
      expect(text).toContain(`nv_llm_http_service_request_duration_seconds_bucket{le="${le}",model="mistral"}`);
    }
    expect(text).toContain('model="with \\"quotes\\", \\\\ and\\nnewline"');
    const { status, output } = promtoolCheck(text);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('is rejected by promtool when broken, so the check above can fail', () => {
    const { status } = promtoolCheck('# TYPE broken counter\nbroken{model="a} 1\n');
    expect(status).not.toBe(0);
  });
});
