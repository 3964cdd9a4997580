import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import { type RunningApp, startApp } from './support/http.js';
import {
  type PrometheusServer,
  type SeriesExemplars,
  pollUntil,
  requirePrometheus,
  startPrometheus,
  targetsUp,
} from './support/prometheus.js';

/*
 * Exemplars end to end: the sample app with `exemplars: true`, scraped every
 * second by a real Prometheus 2.42 with exemplar storage on (it then asks for
 * OpenMetrics), driven by the official `openai` client with a W3C
 * `traceparent` per request; the trace ids are read back through
 * `/api/v1/query_exemplars`.
 */

const P = 'nv_llm_http_service_';
const LATENCIES = ['request_duration_seconds', 'time_to_first_token_seconds', 'inter_token_latency_seconds'] as const;
const STREAMS = 3;

interface Trace {
  trace_id: string;
  span_id: string;
}

const newTrace = (): Trace => ({ trace_id: randomBytes(16).toString('hex'), span_id: randomBytes(8).toString('hex') });
const traceIdsIn = (answer: SeriesExemplars[] | undefined) =>
  new Set((answer ?? []).flatMap((series) => series.exemplars.map((exemplar) => exemplar.labels.trace_id)));

describe('exemplars in a real Prometheus with exemplar storage', () => {
  let app: RunningApp | undefined;
  let prometheus: PrometheusServer | undefined;
  const sent: Trace[] = [];

  beforeAll(async () => {
    requirePrometheus();
    app = await startApp(AppModule.register({ tokenDelayMs: 5, metrics: { exemplars: true } }));
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      features: ['exemplar-storage'],
      jobs: [{ jobName: 'llm-exemplars', targets: [new URL(app.baseUrl).host] }],
    });
    const up = await targetsUp(prometheus, 1);
    expect(up.done).toBe(true);
    const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'test', maxRetries: 0, timeout: 10_000 });
    for (let i = 0; i < STREAMS; i++) {
      // A hostile header first: it must leave no exemplar behind.
      await client.chat.completions.create(
        { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hostile' }] },
        { headers: { traceparent: `00-${'A'.repeat(32)}"},x="1-${'b'.repeat(16)}-01` } },
      );
      const trace = newTrace();
      sent.push(trace);
      const stream = await client.chat.completions.create(
        { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: `stream ${i}` }], stream: true },
        { headers: { traceparent: `00-${trace.trace_id}-${trace.span_id}-01` } },
      );
      for await (const _ of stream) {
        // read it to its end
      }
      // prom-client keeps the last exemplar of each bucket: wait until this one is scraped before the next request.
      const scraped = await pollUntil(
        () => prometheus!.exemplarsAnswer(`${P}request_duration_seconds_bucket`),
        (answer) => traceIdsIn(answer.data).has(trace.trace_id),
        { timeoutMs: 15_000 },
      );
      expect(scraped.done).toBe(true);
    }
  }, 90_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await app?.close();
    }
  }, 30_000);

  it.each(LATENCIES)('returns the trace ids the requests sent in traceparent from query_exemplars on %s', async (latency) => {
    const answer = await prometheus!.exemplarsAnswer(`${P}${latency}_bucket{model="mock-llama-3-8b"}`);
    expect(answer.status).toBe('success');
    expect(traceIdsIn(answer.data)).toEqual(new Set(sent.map((trace) => trace.trace_id)));
    // Each exemplar is exactly the pair one request sent, on a bucket series of the histogram.
    for (const series of answer.data!) {
      expect(series.seriesLabels.__name__).toBe(`${P}${latency}_bucket`);
      for (const exemplar of series.exemplars) {
        expect(sent).toContainEqual(exemplar.labels);
      }
    }
  });

  it('stores no series with a trace label: exemplars never add series', async () => {
    const answer = await prometheus!.seriesAnswer(['{trace_id!=""}', '{span_id!=""}']);
    expect(answer).toEqual({ status: 'success', data: [] });
    const buckets = await prometheus!.queryVector(`count(${P}request_duration_seconds_bucket{model="mock-llama-3-8b"})`);
    const bounds = await prometheus!.queryVector(`count(count by (le) (${P}request_duration_seconds_bucket))`);
    expect(buckets[0].value).toBe(bounds[0].value);
  });

  it('finds no exemplar of the hostile requests, by the id they tried', async () => {
    const answer = await prometheus!.exemplarsAnswer(`{__name__=~"${P}.+"}`);
    expect(answer.status).toBe('success');
    const all = (answer.data ?? []).flatMap((series) => series.exemplars);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((exemplar) => /^[0-9a-f]{32}$/.test(exemplar.labels.trace_id) && Object.keys(exemplar.labels).length === 2)).toBe(
      true,
    );
    expect(JSON.stringify(answer)).not.toContain('x=');
  });
});
