import { jest } from '@jest/globals';
import { Agent } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { LLM_METRICS_REGISTRY } from '../src/index.js';
import { HistogramSeries } from '../src/store/histogram-series.js';
import { HistogramFamily } from '../src/store/metric-family.js';
import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { hasSample, sumOf, valueBefore, valueOf } from './support/exposition.js';
import { send } from './support/load.js';
import { ADAPTERS, RecordingLogger, type RunningApp, eventually, postJson, scrape, startApp } from './support/http.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';

describe.each(ADAPTERS)('faults in the metrics path never take a request down (%s)', (adapter) => {
  let app: RunningApp;
  let logger: RecordingLogger;

  beforeEach(async () => {
    logger = new RecordingLogger();
    app = await startApp(ResponseShapesAppModule.register(), { logger, adapter });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await app.close();
  });

  it('answers normally when recording the request throws, keeps the gauge right, and logs once', async () => {
    // Every histogram series throws when it observes.
    jest.spyOn(HistogramSeries.prototype, 'observe').mockImplementation(() => {
      throw new Error('histogram is broken');
    });
    for (let i = 0; i < 3; i++) {
      const res = await postJson(app.baseUrl, '/shapes/value', { model: `broken-${i}` });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ text: 'hello' });
    }
    const streamed = await postJson(app.baseUrl, '/shapes/readable', { model: 'broken-stream', stream: true, chunks: 3 });
    expect(streamed.text).toContain('data: [DONE]');
    const text = await scrape(app.baseUrl);
    expect(sumOf(text, INFLIGHT)).toBe(0);
    expect(hasSample(text, 'nv_llm_http_service_request_duration_seconds_count', { model: 'broken-0' })).toBe(false);
    expect(valueOf(text, REQUESTS, { model: 'broken-0', endpoint: 'completions', request_type: 'unary', status: 'success' })).toBe(1);
    const errors = logger.of('error', 'LlmMetrics');
    expect(errors).toHaveLength(1);
    expect(String(errors[0].message)).toContain('histogram is broken');
  });

  it('serves a request untracked when its guard cannot even be opened, and logs once', async () => {
    // The series of a new model cannot be made.
    jest.spyOn(HistogramFamily.prototype, 'histogram').mockImplementation(() => {
      throw new Error('histogram is broken');
    });
    for (const path of ['/shapes/value', '/shapes/res', '/shapes/sse-post']) {
      const res = await postJson(app.baseUrl, path, { model: 'new-model', stream: path !== '/shapes/value', chunks: 2 });
      expect(res.status).toBeLessThan(300);
    }
    expect(sumOf(await scrape(app.baseUrl), REQUESTS)).toBe(0);
    expect(logger.of('error', 'LlmMetrics')).toHaveLength(1);
  });

  it('answers 500 "Failed to encode metrics" while a collector throws, and recovers', async () => {
    const registry = app.app.get<Registry>(LLM_METRICS_REGISTRY);
    let broken = true;
    new Gauge({
      name: 'flaky_collector',
      help: 'A collector that fails while broken',
      registers: [registry],
      collect() {
        if (broken) {
          throw new Error('collector failed');
        }
        this.set(1);
      },
    });
    await postJson(app.baseUrl, '/shapes/value', { model: 'm' });
    const failed = await fetch(`${app.baseUrl}/metrics`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('Failed to encode metrics');
    broken = false;
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, 'flaky_collector')).toBe(1);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'completions', request_type: 'unary', status: 'success' })).toBe(1);
  });
});

describe.each(ADAPTERS)('graceful shutdown (%s)', (adapter) => {
  it('finishes every request in flight as an error when the app closes, leaving the gauge at 0', async () => {
    const registry = new Registry();
    const app = await startApp(ResponseShapesAppModule.register({ registry, errorType: true }), { adapter });
    // Without keep-alive: a closing server waits for idle keep-alive connections (Fastify for its keepAliveTimeout).
    const noKeepAlive = new Agent({ keepAlive: false });
    const streams = ['/shapes/res', '/shapes/readable', '/shapes/sse-post', '/shapes/promise'].map((path) =>
      send(
        app.baseUrl,
        path,
        { model: 'closing', stream: path !== '/shapes/promise', chunks: 12, delayMs: 50 },
        { kind: 'read' },
        noKeepAlive,
      ).catch(() => 0),
    );
    const inflight = async () => valueBefore(await registry.metrics(), INFLIGHT, { model: 'closing' });
    expect(await eventually(inflight, (count) => count === 4)).toBe(4);
    // Read the registry while the module is being destroyed: it releases the metrics from the registry.
    const counter = registry.getSingleMetric(REQUESTS)!;
    const gauge = registry.getSingleMetric(INFLIGHT)!;
    await app.close();
    await Promise.all(streams);
    const values = (await counter.get()).values;
    expect(values.filter((value) => value.labels.error_type === 'unavailable').reduce((sum, value) => sum + value.value, 0)).toBe(4);
    expect((await gauge.get()).values.find((value) => value.labels.model === 'closing')?.value).toBe(0);
    expect(registry.getSingleMetric(REQUESTS)).toBeUndefined();

    const again = await startApp(ResponseShapesAppModule.register({ registry }), { adapter });
    await postJson(again.baseUrl, '/shapes/value', { model: 'again' });
    expect(
      valueOf(await scrape(again.baseUrl), REQUESTS, { model: 'again', endpoint: 'completions', request_type: 'unary', status: 'success' }),
    ).toBe(1);
    await again.close();
  });
});
