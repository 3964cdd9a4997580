import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NativeHistogram, nativeBucketKey } from '../src/core/native-histogram.js';
import { PROTOBUF_EXPOSITION_CONTENT_TYPE, encodeProtobufExposition } from '../src/core/protobuf-exposition.js';
import { type PrometheusServer, type VectorSample, pollUntil, requirePrometheus, startPrometheus } from './support/prometheus.js';

/*
 * Native histograms end to end: a NativeHistogram fed 2 000 log-normal
 * latencies (a seeded PRNG), served in the protobuf exposition format by a
 * bare node:http server on loopback, scraped every second by a real
 * Prometheus 2.42 with `--enable-feature=native-histograms`; then read back
 * with histogram_count, histogram_sum and histogram_quantile.
 */

const METRIC = 'llm_latency_seconds';
/** A histogram nothing was observed into: native all the same, by its zero bucket. */
const IDLE_METRIC = 'llm_idle_seconds';
const OBSERVATIONS = 2_000;
const SCHEMA = 3;
const CLASSIC_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal latencies (median 250 ms, σ = 0.6), by Box–Muller. */
function latencies(count: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return 0.25 * Math.exp(0.6 * normal);
  });
}

const values = latencies(OBSERVATIONS, 42);
const histogram = new NativeHistogram({ schema: SCHEMA });
for (const value of values) {
  histogram.observe(value);
}
const native = histogram.snapshot();
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

const body = encodeProtobufExposition([
  {
    name: METRIC,
    help: 'Latency of the requests, in seconds.',
    type: 'histogram',
    metrics: [
      {
        labels: { model: 'mock-llama' },
        count: native.count,
        sum: native.sum,
        // The classic buckets beside the native ones, as the library will expose them.
        buckets: CLASSIC_BOUNDS.map((upperBound) => ({ upperBound, cumulativeCount: values.filter((value) => value <= upperBound).length })),
        native,
      },
    ],
  },
  {
    name: IDLE_METRIC,
    help: 'Nothing observed.',
    type: 'histogram',
    metrics: [{ labels: { model: 'mock-llama' }, count: 0, sum: 0, buckets: [{ upperBound: 1, cumulativeCount: 0 }], native: new NativeHistogram().snapshot() }],
  },
]);

describe('native histograms in a real Prometheus 2.42', () => {
  let server: Server | undefined;
  let prometheus: PrometheusServer | undefined;
  const accepts: string[] = [];

  const only = async (expr: string): Promise<VectorSample> => {
    const samples = await prometheus!.queryVector(expr);
    expect(samples).toHaveLength(1);
    expect(samples[0].labels).toMatchObject({ job: 'native', model: 'mock-llama' });
    return samples[0];
  };

  beforeAll(async () => {
    requirePrometheus();
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
    prometheus = await startPrometheus({ intervalSeconds: 1, features: ['native-histograms'], jobs: [{ jobName: 'native', targets: [`127.0.0.1:${port}`] }] });
    const scraped = await pollUntil(
      () => prometheus!.queryVector(`histogram_count(${METRIC})`),
      (samples) => samples.length === 1,
      { timeoutMs: 20_000 },
    );
    expect({ done: scraped.done, logs: scraped.done ? '' : prometheus.logs() }).toEqual({ done: true, logs: '' });
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
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
    const [target] = await prometheus!.targets();
    expect({ health: target.health, lastError: target.lastError }).toEqual({ health: 'up', lastError: '' });
  });

  it('stores native histograms, and no classic series beside them', async () => {
    const answer = await prometheus!.seriesAnswer([`{__name__=~"llm_.*"}`]);
    expect(answer.status).toBe('success');
    expect(answer.data!.map((series) => series.__name__).sort()).toEqual([IDLE_METRIC, METRIC]);
  });

  it('counts nothing in an empty histogram with the default zero threshold', async () => {
    // Prometheus 2.42 takes a histogram with a zero threshold above 0 as native, buckets or not.
    expect((await only(`histogram_count(${IDLE_METRIC})`)).value).toBe(0);
  });

  it('gives histogram_count and histogram_sum of the observations', async () => {
    expect((await only(`histogram_count(${METRIC})`)).value).toBe(OBSERVATIONS);
    const storedSum = (await only(`histogram_sum(${METRIC})`)).value;
    expect(Math.abs(storedSum - sum)).toBeLessThanOrEqual(1e-12 * sum);
  });

  it('gives a histogram_quantile(0.9) within the relative error of the schema of the true 0.9 quantile', async () => {
    expect(native.schema).toBe(SCHEMA);
    const estimate = (await only(`histogram_quantile(0.9, ${METRIC})`)).value;
    expect(Math.abs(estimate - trueP90) / trueP90).toBeLessThan(RELATIVE_ERROR_BOUND);
    // Where the bound comes from: the estimate is in the bucket of the true quantile.
    const key = nativeBucketKey(trueP90, SCHEMA);
    const [lower, upper] = [2 ** ((key - 1) / 2 ** SCHEMA), 2 ** (key / 2 ** SCHEMA)];
    expect(estimate).toBeGreaterThanOrEqual(lower * (1 - 1e-12));
    expect(estimate).toBeLessThanOrEqual(upper * (1 + 1e-12));
  });
});
