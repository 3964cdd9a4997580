import { Counter, Registry, type RegistryContentType } from 'prom-client';
import { request as httpRequest } from 'node:http';
import { LLM_METRICS_REGISTRY, LlmMetricsService } from '../src/index.js';
import { requestEveryLabelSet } from '../bench/support/traffic.js';
import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { promtoolCheck } from './support/promtool.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { hasSample, samplesOf, sumOf, valueOf } from './support/exposition.js';
import { PROMETHEUS_PROTOBUF_ACCEPT, decodeProtobufExposition } from './support/protobuf.js';

const SCHEMA_0_2_1 = [
  '# HELP nv_llm_http_service_requests_total Total number of LLM requests processed',
  '# TYPE nv_llm_http_service_requests_total counter',
  '# HELP nv_llm_http_service_inflight_requests Number of inflight requests',
  '# TYPE nv_llm_http_service_inflight_requests gauge',
  '# HELP nv_llm_http_service_request_duration_seconds Duration of LLM requests',
  '# TYPE nv_llm_http_service_request_duration_seconds histogram',
];

/**
 * The classic linter reads an OpenMetrics counter family `x` with samples `x_total` as a family `x_total` without
 * help: its one complaint, for each counter that has samples.
 */
const OPENMETRICS_COUNTER_COMPLAINT = /^nv_llm_http_service_(requests|finish_reasons)_total no help text$/;

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

describe.each(ADAPTERS)('the exposition (%s)', (adapter) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register(), { adapter });
  });
  afterAll(() => app.close());

  it('is the 0.2.1 schema, then the streaming histograms: names, types and help texts', async () => {
    const text = await scrape(app.baseUrl);
    const metadata = text.split('\n').filter((line) => line.startsWith('#'));
    expect(metadata).toEqual([
      ...SCHEMA_0_2_1,
      '# HELP nv_llm_http_service_time_to_first_token_seconds Time to first token in seconds',
      '# TYPE nv_llm_http_service_time_to_first_token_seconds histogram',
      '# HELP nv_llm_http_service_inter_token_latency_seconds Inter-token latency in seconds',
      '# TYPE nv_llm_http_service_inter_token_latency_seconds histogram',
      '# HELP nv_llm_http_service_input_sequence_tokens Input sequence length in tokens',
      '# TYPE nv_llm_http_service_input_sequence_tokens histogram',
      '# HELP nv_llm_http_service_output_sequence_tokens Output sequence length in tokens',
      '# TYPE nv_llm_http_service_output_sequence_tokens histogram',
      '# HELP nv_llm_http_service_finish_reasons_total Total number of LLM requests by the reason their answer finished',
      '# TYPE nv_llm_http_service_finish_reasons_total counter',
      '# HELP nv_llm_http_service_tool_calls_total Total number of tool calls in LLM answers, by outcome',
      '# TYPE nv_llm_http_service_tool_calls_total counter',
      '# HELP nv_llm_http_service_reasoning_tokens_total Total number of reasoning tokens generated',
      '# TYPE nv_llm_http_service_reasoning_tokens_total counter',
      '# HELP nv_llm_http_service_cached_prompt_tokens_total Total number of prompt tokens served from the prefix cache',
      '# TYPE nv_llm_http_service_cached_prompt_tokens_total counter',
    ]);
  });

  it('is exactly the 0.2.1 schema with streamingMetrics and answerMetrics false, byte for byte after traffic', async () => {
    const plain = await startApp(ResponseShapesAppModule.register({ streamingMetrics: false, answerMetrics: false }), {
      adapter,
    });
    try {
      await postJson(plain.baseUrl, '/shapes/value', { model: 'llama' });
      await postJson(plain.baseUrl, '/shapes/readable', { model: 'llama', stream: true, chunks: 2 });
      const text = await eventually(
        () => scrape(plain.baseUrl),
        (t) => sumOf(t, 'nv_llm_http_service_requests_total') >= 2,
      );
      expect(text.split('\n').filter((line) => line.startsWith('#'))).toEqual(SCHEMA_0_2_1);
      const series = text.split('\n').filter((line) => line && !line.startsWith('#') && !line.includes('_bucket'));
      expect(series.map((line) => line.replace(/ [0-9.e+-]+$/, ''))).toEqual([
        'nv_llm_http_service_requests_total{model="llama",endpoint="completions",request_type="unary",status="success"}',
        'nv_llm_http_service_requests_total{model="llama",endpoint="completions",request_type="stream",status="success"}',
        'nv_llm_http_service_inflight_requests{model="llama"}',
        'nv_llm_http_service_request_duration_seconds_sum{model="llama"}',
        'nv_llm_http_service_request_duration_seconds_count{model="llama"}',
      ]);
    } finally {
      await plain.close();
    }
  });
  it('passes promtool check metrics after traffic of every kind', async () => {
    await driveTraffic(app);
    const text = await eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, 'nv_llm_http_service_requests_total') >= 7,
    );
    expect(sumOf(text, 'nv_llm_http_service_requests_total')).toBe(7);
    expect(text).toContain('nv_llm_http_service_request_duration_seconds_bucket{le="0",model="llama"}');
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

describe.each(ADAPTERS)('content negotiation (%s)', (adapter) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register(), { adapter });
    await driveTraffic(app);
  });
  afterAll(() => app.close());

  const scrapeWith = async (accept?: string) => {
    const response = await fetch(`${app.baseUrl}/metrics`, { headers: accept ? { accept } : {} });
    return { contentType: response.headers.get('content-type'), body: await response.text() };
  };
  // What Prometheus 2.42 sends.
  const PROMETHEUS_ACCEPT =
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

  it('answers OpenMetrics when the scraper asks for application/openmetrics-text, and promtool parses it', async () => {
    const { contentType, body } = await scrapeWith(PROMETHEUS_ACCEPT);
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE nv_llm_http_service_requests counter');
    expect(body).toMatch(
      /^nv_llm_http_service_requests_total\{model="llama",endpoint="completions",request_type="unary",status="success"\} 1$/m,
    );
    // promtool 2.42 lints with the classic parser: it reads the OpenMetrics text
    // without a parse error, but takes a counter's `_total` samples for a family
    // of their own without HELP. Nothing else may be reported. (The real
    // Prometheus end-to-end test scrapes this format with its OpenMetrics parser.)
    const { status, output } = promtoolCheck(body);
    expect([0, 3]).toContain(status);
    const complaints = output.split('\n').filter(Boolean);
    expect(complaints.filter((line) => !OPENMETRICS_COUNTER_COMPLAINT.test(line))).toEqual([]);
  });

  it('answers the classic text format otherwise, unchanged by OpenMetrics scrapes before it', async () => {
    for (const accept of [undefined, 'text/plain', '*/*', 'application/openmetrics-text;q=0']) {
      await scrapeWith(PROMETHEUS_ACCEPT);
      const { contentType, body } = await scrapeWith(accept);
      expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(body).toContain('# TYPE nv_llm_http_service_requests_total counter');
      expect(body).not.toContain('# EOF');
      expect(promtoolCheck(body).status).toBe(0);
    }
  });

  it('keeps each of 50 concurrent scrapes, alternating the two formats, in its own format, promtool-clean, the counters named right', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => scrapeWith(i % 2 === 0 ? PROMETHEUS_ACCEPT : undefined)));
    answers.forEach(({ contentType, body }, i) => {
      const openMetrics = i % 2 === 0;
      expect(contentType).toBe(
        openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8',
      );
      expect(body.endsWith('# EOF\n')).toBe(openMetrics);
      expect(body).toContain(
        openMetrics ? '# TYPE nv_llm_http_service_requests counter' : '# TYPE nv_llm_http_service_requests_total counter',
      );
      expect(
        valueOf(body, 'nv_llm_http_service_requests_total', {
          model: 'llama',
          endpoint: 'completions',
          request_type: 'unary',
          status: 'success',
        }),
      ).toBe(1);
      const { status, output } = promtoolCheck(body);
      if (openMetrics) {
        // As above: the classic linter's one complaint about an OpenMetrics counter.
        expect(output.split('\n').filter((line) => line && !OPENMETRICS_COUNTER_COMPLAINT.test(line))).toEqual([]);
      } else {
        expect({ status, output }).toEqual({ status: 0, output: '' });
      }
    });
  });
});

describe.each(ADAPTERS)('the protobuf exposition (%s)', (adapter) => {
  const running: RunningApp[] = [];
  afterAll(() => Promise.all(running.map((app) => app.close())));

  /** An app with `options`, after the traffic above, scraped as `accept`: its content type and bytes. */
  const scrapeBytes = async (app: RunningApp, accept: string) => {
    const response = await fetch(`${app.baseUrl}/metrics`, { headers: { accept } });
    return { contentType: response.headers.get('content-type'), bytes: new Uint8Array(await response.arrayBuffer()) };
  };
  const start = async (options: Parameters<typeof ResponseShapesAppModule.register>[0]) => {
    const app = await startApp(ResponseShapesAppModule.register(options), { adapter });
    running.push(app);
    await driveTraffic(app);
    return app;
  };

  it('answers the protobuf format to a scraper that asks for it first, with the counts of the text format and native latency buckets', async () => {
    const app = await start({ nativeHistograms: true });
    const { contentType, bytes } = await scrapeBytes(app, PROMETHEUS_PROTOBUF_ACCEPT);
    expect(contentType).toBe('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    const families = new Map(decodeProtobufExposition(bytes).map((family) => [family.name as string, family]));
    const text = await scrape(app.baseUrl);
    const requests = families.get('nv_llm_http_service_requests_total') as {
      type: string;
      metric: { label: { name: string; value: string }[]; counter: { value: number } }[];
    };
    expect(requests.type).toBe('COUNTER');
    expect(requests.metric.length).toBe(samplesOf(text, 'nv_llm_http_service_requests_total').length);
    for (const { label, counter } of requests.metric) {
      expect(counter.value).toBe(
        valueOf(text, 'nv_llm_http_service_requests_total', Object.fromEntries(label.map(({ name, value }) => [name, value]))),
      );
    }
    type HistogramFamily = {
      metric: {
        label: { name: string; value: string }[];
        histogram: { sample_count: number; schema?: number; positive_delta: number[] };
      }[];
    };
    const durations = families.get('nv_llm_http_service_request_duration_seconds') as HistogramFamily;
    for (const { label, histogram } of durations.metric) {
      const model = label.find(({ name }) => name === 'model')!.value;
      expect(histogram.sample_count).toBe(valueOf(text, 'nv_llm_http_service_request_duration_seconds_count', { model }));
      expect(histogram.schema).toBe(3);
      expect(histogram.positive_delta.reduce((sum, delta, i, deltas) => sum + deltas.slice(0, i + 1).reduce((a, b) => a + b, 0), 0)).toBe(
        histogram.sample_count,
      );
    }
    const lengths = families.get('nv_llm_http_service_output_sequence_tokens') as HistogramFamily;
    expect(lengths.metric.every(({ histogram }) => histogram.schema === undefined)).toBe(true);
  });

  it.each([
    ['rendered by the library', {}],
    ['rendered from getMetricsAsJSON() (a registry given without defaultLabels)', { registry: new Registry() }],
  ])('keeps native and classic buckets of one count after registry.resetMetrics(), %s', async (_, options) => {
    const app = await start({ nativeHistograms: true, ...options });
    app.app.get<Registry>(LLM_METRICS_REGISTRY).resetMetrics();
    await postJson(app.baseUrl, '/shapes/value', { model: 'after-reset' });
    const families = decodeProtobufExposition((await scrapeBytes(app, PROMETHEUS_PROTOBUF_ACCEPT)).bytes);
    const durations = families.find(({ name }) => name === 'nv_llm_http_service_request_duration_seconds') as {
      metric: {
        label: { name: string; value: string }[];
        histogram: { sample_count: number; zero_count: number; positive_delta: number[] };
      }[];
    };
    // Only the request after the reset: one observation, in one native bucket.
    expect(durations.metric.map(({ label }) => label.find(({ name }) => name === 'model')?.value)).toEqual(['after-reset']);
    const [{ histogram }] = durations.metric;
    const nativeCount =
      histogram.zero_count +
      histogram.positive_delta.reduce((sum, _delta, i, deltas) => sum + deltas.slice(0, i + 1).reduce((a, b) => a + b, 0), 0);
    expect([histogram.sample_count, nativeCount]).toEqual([1, 1]);
  });

  it('serves the classic buckets alone in protobuf without the option, and text to a protobuf range it cannot serve', async () => {
    const app = await start({});
    const families = decodeProtobufExposition((await scrapeBytes(app, PROMETHEUS_PROTOBUF_ACCEPT)).bytes);
    const durations = families.find(({ name }) => name === 'nv_llm_http_service_request_duration_seconds') as {
      metric: { histogram: { schema?: number; bucket: unknown[] } }[];
    };
    expect(durations.metric.every(({ histogram }) => histogram.schema === undefined && histogram.bucket.length === 11)).toBe(true);
    for (const accept of [
      'application/vnd.google.protobuf',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text',
      `${PROMETHEUS_PROTOBUF_ACCEPT.split(',')[0]};q=0`,
    ]) {
      expect((await scrapeBytes(app, accept)).contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    }
    // Asked for at a lower quality than OpenMetrics, it is not chosen.
    expect(
      (await scrapeBytes(app, `${PROMETHEUS_PROTOBUF_ACCEPT.split(',')[0]};q=0.5,application/openmetrics-text;version=1.0.0`)).contentType,
    ).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
  });
});

describe.each(ADAPTERS)('the route renders what prom-client renders (%s)', (adapter) => {
  const running: RunningApp[] = [];
  afterAll(() => Promise.all(running.map((app) => app.close())));

  it("renders the library's metrics itself, with the module's default labels, then the registry's others, as registry.metrics() does", async () => {
    const app = await startApp(ResponseShapesAppModule.register({ defaultLabels: { instance: 'replica "a"' } }), { adapter });
    running.push(app);
    const registry = app.app.get<Registry>(LLM_METRICS_REGISTRY);
    new Counter({ name: 'app_jobs_total', help: 'Jobs', labelNames: ['queue'], registers: [registry] }).inc({ queue: 'q' }, 2);
    await driveTraffic(app);
    const text = await scrape(app.baseUrl);
    expect(text).toBe(await registry.metrics());
    expect(text).toContain(
      'nv_llm_http_service_requests_total{model="llama",endpoint="completions",request_type="unary",status="success",instance="replica \\"a\\""} 1',
    );
    expect(text).toContain('app_jobs_total{queue="q",instance="replica \\"a\\""} 2');
  });

  it.each(['text', 'openmetrics'] as const)(
    'renders in the %s format what registry.metrics() renders after traffic and after registry.resetMetrics(): one store, one truth',
    async (format) => {
      const registry = new Registry<RegistryContentType>();
      if (format === 'openmetrics') {
        registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      }
      const app = await startApp(ResponseShapesAppModule.register({ registry, defaultLabels: { instance: 'a' }, exemplars: true }), {
        adapter,
      });
      running.push(app);
      await driveTraffic(app);
      const before = await scrape(app.baseUrl);
      expect(before).toBe(await registry.metrics());
      expect(sumOf(before, 'nv_llm_http_service_requests_total')).toBeGreaterThan(0);
      registry.resetMetrics();
      const reset = await scrape(app.baseUrl);
      expect(reset).toBe(await registry.metrics());
      expect(sumOf(reset, 'nv_llm_http_service_requests_total')).toBe(0);
      expect(hasSample(reset, 'nv_llm_http_service_request_duration_seconds_count', { model: 'llama', instance: 'a' })).toBe(false);
      await driveTraffic(app);
      const after = await scrape(app.baseUrl);
      expect(after).toBe(await registry.metrics());
      expect(sumOf(after, 'nv_llm_http_service_requests_total')).toBe(sumOf(before, 'nv_llm_http_service_requests_total'));
    },
  );

  it('leaves a registry whose default labels it cannot know to prom-client', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: 'llm-api' });
    const app = await startApp(ResponseShapesAppModule.register({ registry }), { adapter });
    running.push(app);
    await driveTraffic(app);
    const text = await scrape(app.baseUrl);
    expect(text).toBe(await registry.metrics());
    expect(text).toContain(
      'nv_llm_http_service_requests_total{model="llama",endpoint="completions",request_type="unary",status="success",app="llm-api"} 1',
    );
  });
});

/** GETs the metrics route and reads its body slowly: a pause of `pauseMs` after the first chunk. */
function slowScrape(baseUrl: string, pauseMs: number): Promise<{ headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(new URL('/metrics', baseUrl), (res) => {
      const chunks: Buffer[] = [];
      res.once('data', () => {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe.each(ADAPTERS)('a scrape larger than a slice (%s)', (adapter) => {
  let app: RunningApp;
  let registry: Registry;

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register({ maxModels: 1000 }), { adapter });
    registry = app.app.get<Registry>(LLM_METRICS_REGISTRY);
    // One request of each endpoint, request type and status of 1 000 models: a scrape of several MB, rendered in many slices.
    requestEveryLabelSet(app.app.get(LlmMetricsService), 1000);
  });
  afterAll(() => app.close());

  it.each([
    ['text', undefined],
    ['OpenMetrics', 'application/openmetrics-text; version=1.0.0'],
  ])('is sent while it is rendered, chunked, in %s (the text byte for byte what prom-client renders)', async (_format, accept) => {
    const response = await fetch(`${app.baseUrl}/metrics`, { headers: accept === undefined ? {} : { accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const body = await response.text();
    expect(body.length).toBeGreaterThan(4_000_000);
    if (accept === undefined) {
      expect(body).toBe(await registry.metrics());
    } else {
      expect(body.endsWith('# EOF\n')).toBe(true);
      expect(
        valueOf(body, 'nv_llm_http_service_requests_total', {
          model: 'model-999',
          endpoint: 'responses',
          request_type: 'stream',
          status: 'success',
        }),
      ).toBe(1);
    }
  });

  it('waits for a scraper that reads slowly, and sends it the whole scrape', async () => {
    const { headers, body } = await slowScrape(app.baseUrl, 300);
    expect(headers['content-type']).toContain('text/plain');
    expect(body).toBe(await registry.metrics());
  });

  it('outlives a scraper that leaves in the middle, and serves the next scrape whole', async () => {
    for (let i = 0; i < 3; i++) {
      const received = await abandonAfter(app.baseUrl, '/metrics', { method: 'GET', chunks: 1 });
      expect(received.length).toBeGreaterThan(0);
    }
    expect(await scrape(app.baseUrl)).toBe(await registry.metrics());
    expect((await postJson(app.baseUrl, '/shapes/value', { model: 'model-1' })).status).toBe(200);
  });
});
