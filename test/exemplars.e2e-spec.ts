import { connect } from 'node:net';
import { AppModule } from '../sample/app.module.js';
import { exemplarsOf, parseExposition, sumOf, withoutExemplars } from './support/exposition.js';
import { ADAPTERS, type AdapterName, type RunningApp, eventually, scrape, startApp } from './support/http.js';
import { traceEveryRequest } from './support/opentelemetry.js';
import { promtoolCheck } from './support/promtool.js';

const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';
const PREFIX = 'nv_llm_http_service_';
const REQUESTS = `${PREFIX}requests_total`;
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

const STREAM_TRACE = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
const UNARY_TRACE = { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' };
const traceparent = ({ trace_id, span_id }: { trace_id: string; span_id: string }) => `00-${trace_id}-${span_id}-01`;
const chat = (model: string, stream: boolean) => ({ model, messages: [{ role: 'user', content: 'Hi' }], stream });

/** POSTs a chat with `headers`, reads the whole answer, returns its status. */
async function sendChat(baseUrl: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
}

/** Sends a chat as raw bytes with `headerLines` (which fetch would refuse), resolves with the answer's status line. */
function sendRawChat(baseUrl: string, headerLines: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  const body = JSON.stringify(chat(LLAMA, false));
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${headerLines}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(head + body));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer.split('\r\n')[0]));
    socket.on('error', reject);
  });
}

/** The names and labels of the samples of an exposition: its series. */
const seriesOf = (text: string) => parseExposition(withoutExemplars(text)).map(({ name, labels }) => `${name}${JSON.stringify(labels)}`);

/** Starts the sample with `exemplars` on or off, sends one streamed chat and one unary chat with the traces above. */
async function startWithTraffic(adapter: AdapterName, exemplars: boolean): Promise<RunningApp> {
  const app = await startApp(AppModule.register({ tokenDelayMs: 2, metrics: { exemplars } }), { adapter });
  expect(await sendChat(app.baseUrl, chat(LLAMA, true), { traceparent: traceparent(STREAM_TRACE) })).toBe(200);
  expect(await sendChat(app.baseUrl, chat(SMALL, false), { traceparent: traceparent(UNARY_TRACE) })).toBe(200);
  await eventually(
    () => scrape(app.baseUrl),
    (text) => sumOf(text, REQUESTS) === 2,
  );
  return app;
}

describe.each(ADAPTERS)('exemplars (%s)', (adapter) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startWithTraffic(adapter, true);
  });
  afterAll(() => app.close());

  it("puts the traceparent's ids on the duration, time-to-first-(content-)token and inter-token-latency buckets of OpenMetrics scrapes", async () => {
    const exemplars = exemplarsOf(await scrape(app.baseUrl, '/metrics', OPENMETRICS));
    const tracesOn = (name: string, model: string) =>
      exemplars
        .filter((exemplar) => exemplar.name === `${PREFIX}${name}_bucket` && exemplar.labels.model === model)
        .map((exemplar) => exemplar.exemplarLabels);
    expect(tracesOn('request_duration_seconds', LLAMA)).toEqual([STREAM_TRACE]);
    expect(tracesOn('time_to_first_token_seconds', LLAMA)).toEqual([STREAM_TRACE]);
    expect(tracesOn('inter_token_latency_seconds', LLAMA).length).toBeGreaterThan(0);
    expect(new Set(tracesOn('inter_token_latency_seconds', LLAMA).map((labels) => JSON.stringify(labels)))).toEqual(
      new Set([JSON.stringify(STREAM_TRACE)]),
    );
    expect(tracesOn('request_duration_seconds', SMALL)).toEqual([UNARY_TRACE]);
    // Only the latency histograms carry them (the sample turns on the time to first content token); each exemplar lies in the bucket it is on, and was taken just now.
    expect(new Set(exemplars.map((exemplar) => exemplar.name))).toEqual(
      new Set([
        `${PREFIX}request_duration_seconds_bucket`,
        `${PREFIX}time_to_first_token_seconds_bucket`,
        `${PREFIX}time_to_first_content_token_seconds_bucket`,
        `${PREFIX}inter_token_latency_seconds_bucket`,
      ]),
    );
    for (const exemplar of exemplars) {
      expect(exemplar.value).toBeLessThanOrEqual(Number(exemplar.labels.le));
      expect(Math.abs(exemplar.timestamp - Date.now() / 1000)).toBeLessThan(60);
    }
  });

  it('leaves classic text scrapes as they are without exemplars, and adds no series to either format', async () => {
    const plain = await startWithTraffic(adapter, false);
    try {
      const classic = await scrape(app.baseUrl);
      expect(classic).not.toContain(' # {');
      expect(promtoolCheck(classic)).toEqual({ status: 0, output: '' });
      expect(seriesOf(classic)).toEqual(seriesOf(await scrape(plain.baseUrl)));
      expect(seriesOf(await scrape(app.baseUrl, '/metrics', OPENMETRICS))).toEqual(
        seriesOf(await scrape(plain.baseUrl, '/metrics', OPENMETRICS)),
      );
      expect(await scrape(plain.baseUrl, '/metrics', OPENMETRICS)).not.toContain(' # {');
    } finally {
      await plain.close();
    }
  });
});

describe.each(ADAPTERS)('hostile traceparent headers (%s)', (adapter) => {
  const HOSTILE = [
    `00-${STREAM_TRACE.trace_id.toUpperCase()}-${STREAM_TRACE.span_id.toUpperCase()}-01`,
    `00-${'e'.repeat(30)}zz-${STREAM_TRACE.span_id}-01`,
    `00-${STREAM_TRACE.trace_id}-${STREAM_TRACE.span_id}-01-${'x'.repeat(4000)}`,
    `01-${STREAM_TRACE.trace_id}-${STREAM_TRACE.span_id}-01${'-evil'.repeat(200)}`,
    `00-${'4bf92f3577b34da6"},evil="'}-${STREAM_TRACE.span_id}-01`,
    `00-${STREAM_TRACE.trace_id}"} 1 # {evil="1-${STREAM_TRACE.span_id}-01`,
    `00-${'0'.repeat(32)}-${STREAM_TRACE.span_id}-01`,
    `00-${STREAM_TRACE.trace_id}-${'0'.repeat(16)}-01`,
    `ff-${STREAM_TRACE.trace_id}-${STREAM_TRACE.span_id}-01`,
    `00-${STREAM_TRACE.trace_id}-${STREAM_TRACE.span_id}`,
  ];
  // Sent as raw bytes: a header folded over two lines, a bare line feed, and the header twice.
  const RAW = [
    `traceparent: 00-${STREAM_TRACE.trace_id}-${STREAM_TRACE.span_id}-01\r\n\tevil="1"`,
    `traceparent: 00-${STREAM_TRACE.trace_id}\nevil: 1-${STREAM_TRACE.span_id}-01`,
    `traceparent: ${traceparent(STREAM_TRACE)}\r\ntraceparent: ${traceparent(UNARY_TRACE)}`,
  ];

  it('gives no exemplar and lets nothing of them into either format, counting every request', async () => {
    const app = await startApp(AppModule.register({ tokenDelayMs: 0, metrics: { exemplars: true } }), { adapter });
    try {
      for (const value of HOSTILE) {
        expect(await sendChat(app.baseUrl, chat(LLAMA, true), { traceparent: value })).toBe(200);
      }
      const statuses = await Promise.all(RAW.map((lines) => sendRawChat(app.baseUrl, lines)));
      // Node.js 20 answers the folded and the bare-line-feed headers 400 itself; the repeated one is served.
      const served = statuses.filter((status) => status.startsWith('HTTP/1.1 200')).length;
      expect(served).toBeGreaterThanOrEqual(1);
      const counted = await eventually(
        () => scrape(app.baseUrl),
        (text) => sumOf(text, REQUESTS) === HOSTILE.length + served,
      );
      expect(sumOf(counted, REQUESTS)).toBe(HOSTILE.length + served);
      for (const text of [await scrape(app.baseUrl, '/metrics', OPENMETRICS), await scrape(app.baseUrl)]) {
        expect(exemplarsOf(text)).toEqual([]);
        for (const marker of ['evil', 'zz', 'xxxx', STREAM_TRACE.trace_id, STREAM_TRACE.trace_id.toUpperCase(), UNARY_TRACE.trace_id]) {
          expect(text).not.toContain(marker);
        }
      }
      expect(promtoolCheck(await scrape(app.baseUrl))).toEqual({ status: 0, output: '' });
    } finally {
      await app.close();
    }
  });
});

describe.each(ADAPTERS)('exemplars under an active OpenTelemetry span (%s)', (adapter) => {
  it("take the active span's ids over the traceparent header's", async () => {
    let tracing: ReturnType<typeof traceEveryRequest> | undefined;
    const app = await startApp(AppModule.register({ tokenDelayMs: 2, metrics: { exemplars: true } }), {
      adapter,
      configure: (nest) => (tracing = traceEveryRequest(nest.getHttpServer())),
    });
    try {
      expect(await sendChat(app.baseUrl, chat(LLAMA, true), { traceparent: traceparent(UNARY_TRACE) })).toBe(200);
      const [span] = tracing!.spans;
      expect(span.traceId).not.toBe(UNARY_TRACE.trace_id);
      await eventually(
        () => scrape(app.baseUrl),
        (text) => sumOf(text, REQUESTS) === 1,
      );
      const exemplars = exemplarsOf(await scrape(app.baseUrl, '/metrics', OPENMETRICS));
      expect(new Set(exemplars.map((exemplar) => exemplar.name))).toEqual(
        new Set([
          `${PREFIX}request_duration_seconds_bucket`,
          `${PREFIX}time_to_first_token_seconds_bucket`,
          `${PREFIX}time_to_first_content_token_seconds_bucket`,
          `${PREFIX}inter_token_latency_seconds_bucket`,
        ]),
      );
      expect(
        exemplars.every((exemplar) => exemplar.exemplarLabels.trace_id === span.traceId && exemplar.exemplarLabels.span_id === span.spanId),
      ).toBe(true);
    } finally {
      tracing?.disable();
      await app.close();
    }
  });
});
