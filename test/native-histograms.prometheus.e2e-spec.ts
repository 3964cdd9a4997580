import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { AppModule } from '../sample/app.module.js';
import { NativeHistogram, nativeBucketKey } from '../src/store/native-histogram.js';
import { encodeProtobufExposition } from '../src/exposition/protobuf-writer.js';
import { nativeBucketsIn } from '../src/exposition/protobuf-renderer.js';
import { Endpoint, LlmMetricsService, PROTOBUF_EXPOSITION_CONTENT_TYPE, renderProtobuf } from '../src/index.js';
import { valueOf } from './support/exposition.js';
import { type RunningApp, postJson, scrape, startApp } from './support/http.js';
import { type PrometheusServer, type VectorSample, pollUntil, requirePrometheus, startPrometheus } from './support/prometheus.js';
import { seededRandom } from './support/load.js';

/*
 * Native histograms end to end: an LlmMetricsService with `nativeHistograms`
 * whose clock makes 2 000 requests last log-normal latencies (a seeded PRNG),
 * rendered in the protobuf exposition format by `renderProtobuf` and served
 * by a bare node:http server on loopback; and the sample app with the option,
 * served by its own /metrics route. Both are scraped every second by a real
 * Prometheus 2.42 with `--enable-feature=native-histograms`, then read back
 * with histogram_count, histogram_sum and histogram_quantile.
 */

const METRIC = 'nv_llm_http_service_request_duration_seconds';
/** A histogram nothing was observed into: native all the same, by its zero bucket. */
const IDLE_METRIC = 'llm_idle_seconds';
const OBSERVATIONS = 2_000;
const SCHEMA = 3;
const CLASSIC_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Log-normal latencies (median 250 ms, σ = 0.6), by Box–Muller. */
function latencies(count: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return 0.25 * Math.exp(0.6 * normal);
  });
}

const values = latencies(OBSERVATIONS, 42);
const sum = values.reduce((total, value) => total + value, 0);
const sorted = [...values].sort((a, b) => a - b);
/** The true 0.9 quantile: the smallest observation with at least 90 % of them at or below it. */
const trueP90 = sorted[Math.ceil(0.9 * OBSERVATIONS) - 1];
/**
 * Prometheus 2.42's histogram_quantile finds the native bucket (L, U] where the
 * cumulative count reaches 0.9·count (the bucket of `trueP90` too) and
 * interpolates linearly inside it, so its estimate is in [L, U] with
 * U = L·2^(2^−schema): |estimate − true| ≤ U − L < (2^(2^−schema) − 1)·true.
 * For schema 3, that is 9.05 %.
 */
const RELATIVE_ERROR_BOUND = 2 ** (2 ** -SCHEMA) - 1;

/** The service's exposition after one request of each latency, and a histogram nothing was observed into after it. */
async function serviceExposition(): Promise<Buffer> {
  const clock = { now: 0 };
  const registry = new Registry();
  const service = new LlmMetricsService(undefined, {
    clock: () => clock.now,
    nativeHistograms: { schema: SCHEMA },
    buckets: { requestDuration: CLASSIC_BOUNDS },
  });
  service.register(registry);
  for (const value of values) {
    clock.now = 0;
    const guard = service.createInflightGuard('mock-llama', Endpoint.ChatCompletions, false);
    clock.now = value * 1000;
    guard.markOk();
    guard.finish();
  }
  const idle = encodeProtobufExposition([
    {
      name: IDLE_METRIC,
      help: 'Nothing observed.',
      type: 'histogram',
      metrics: [
        {
          labels: { model: 'mock-llama' },
          count: 0,
          sum: 0,
          buckets: [{ upperBound: 1, cumulativeCount: 0 }],
          native: new NativeHistogram().snapshot(),
        },
      ],
    },
  ]);
  // Delimited messages: two expositions one after the other are one.
  return Buffer.concat([await renderProtobuf(registry, nativeBucketsIn(service.store)), idle]);
}

describe('native histograms in a real Prometheus 2.42', () => {
  let server: Server | undefined;
  let sample: RunningApp | undefined;
  let prometheus: PrometheusServer | undefined;
  const accepts: string[] = [];

  const only = async (expr: string): Promise<VectorSample> => {
    const samples = await prometheus!.queryVector(expr);
    expect(samples).toHaveLength(1);
    expect(samples[0].labels).toMatchObject({ model: 'mock-llama' });
    return samples[0];
  };

  beforeAll(async () => {
    requirePrometheus();
    const body = await serviceExposition();
    // Protobuf only, whatever the Accept header: there is no text format to fall back on.
    server = createServer((request, response) => {
      accepts.push(request.headers.accept ?? '');
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': PROTOBUF_EXPOSITION_CONTENT_TYPE, 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject).listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    sample = await startApp(AppModule.register({ tokenDelayMs: 1, metrics: { nativeHistograms: true } }));
    for (const stream of [true, false, true]) {
      expect(
        (
          await postJson(sample.baseUrl, '/v1/chat/completions', {
            model: 'mock-llama-3-8b',
            messages: [{ role: 'user', content: 'Hi' }],
            stream,
          })
        ).status,
      ).toBe(200);
    }
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      features: ['native-histograms'],
      jobs: [
        { jobName: 'native', targets: [`127.0.0.1:${port}`] },
        { jobName: 'sample', targets: [new URL(sample.baseUrl).host] },
      ],
    });
    const scraped = await pollUntil(
      () => prometheus!.queryVector(`histogram_count(${METRIC})`),
      (samples) => samples.length === 2,
      { timeoutMs: 20_000 },
    );
    expect({ done: scraped.done, logs: scraped.done ? '' : prometheus.logs() }).toEqual({ done: true, logs: '' });
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
      await sample?.close();
    } finally {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    }
  }, 30_000);

  it('is scraped in the protobuf format it asks for, with no text format to fall back on', async () => {
    expect(accepts.length).toBeGreaterThan(0);
    for (const accept of accepts) {
      expect(accept).toContain('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited');
    }
    const targets = await prometheus!.targets();
    expect(targets.map(({ health, lastError }) => ({ health, lastError }))).toEqual([
      { health: 'up', lastError: '' },
      { health: 'up', lastError: '' },
    ]);
  });

  it('stores native histograms, and no classic series beside them', async () => {
    const answer = await prometheus!.seriesAnswer([`{job="native",__name__=~"(llm|nv_llm)_.*_seconds.*"}`]);
    expect(answer.status).toBe('success');
    expect(answer.data!.map((series) => series.__name__).sort()).toEqual([IDLE_METRIC, METRIC]);
  });

  it("stores the sample's latency histograms as native ones, with the count and sum of their classic series", async () => {
    const text = await scrape(sample!.baseUrl);
    for (const name of ['request_duration_seconds', 'time_to_first_token_seconds', 'inter_token_latency_seconds']) {
      const metric = `nv_llm_http_service_${name}`;
      const [count] = await prometheus!.queryVector(`histogram_count(${metric}{job="sample"})`);
      const [storedSum] = await prometheus!.queryVector(`histogram_sum(${metric}{job="sample"})`);
      expect([name, count?.value]).toEqual([name, valueOf(text, `${metric}_count`, { model: 'mock-llama-3-8b' })]);
      expect(storedSum.value).toBeCloseTo(valueOf(text, `${metric}_sum`, { model: 'mock-llama-3-8b' }), 12);
    }
    // The other metrics come through the protobuf format as they are.
    const [requests] = await prometheus!.queryVector('sum(nv_llm_http_service_requests_total{job="sample"})');
    expect(requests.value).toBe(3);
    const lengths = await prometheus!.seriesAnswer(['{job="sample",__name__=~"nv_llm_http_service_output_sequence_tokens.*"}']);
    expect(new Set(lengths.data!.map((series) => series.__name__))).toEqual(
      new Set([
        'nv_llm_http_service_output_sequence_tokens_bucket',
        'nv_llm_http_service_output_sequence_tokens_count',
        'nv_llm_http_service_output_sequence_tokens_sum',
      ]),
    );
  });

  it('counts nothing in an empty histogram with the default zero threshold', async () => {
    // Prometheus 2.42 takes a histogram with a zero threshold above 0 as native, buckets or not.
    expect((await only(`histogram_count(${IDLE_METRIC})`)).value).toBe(0);
  });

  it('gives histogram_count and histogram_sum of the observations', async () => {
    expect((await only(`histogram_count(${METRIC}{job="native"})`)).value).toBe(OBSERVATIONS);
    const storedSum = (await only(`histogram_sum(${METRIC}{job="native"})`)).value;
    expect(Math.abs(storedSum - sum)).toBeLessThanOrEqual(1e-12 * sum);
  });

  it('gives a histogram_quantile(0.9) within the relative error of the schema of the true 0.9 quantile', async () => {
    const estimate = (await only(`histogram_quantile(0.9, ${METRIC}{job="native"})`)).value;
    expect(Math.abs(estimate - trueP90) / trueP90).toBeLessThan(RELATIVE_ERROR_BOUND);
    // Where the bound comes from: the estimate is in the bucket of the true quantile.
    const key = nativeBucketKey(trueP90, SCHEMA);
    const [lower, upper] = [2 ** ((key - 1) / 2 ** SCHEMA), 2 ** (key / 2 ** SCHEMA)];
    expect(estimate).toBeGreaterThanOrEqual(lower * (1 - 1e-12));
    expect(estimate).toBeLessThanOrEqual(upper * (1 + 1e-12));
  });
});
