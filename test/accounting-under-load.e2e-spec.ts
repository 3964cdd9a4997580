import { Agent } from 'node:http';
import { LlmMetricsService } from '../src/index.js';
import { ResponseShapesAppModule } from './app/response-shapes.app.module.js';
import { parseExposition, sumOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, eventually, scrape, startApp } from './support/http.js';
import { type ClientBehaviour, runBounded, seededRandom, send } from './support/load.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const DURATION_COUNT = 'nv_llm_http_service_request_duration_seconds_count';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';

/** One kind of request: where it goes, how its client behaves, and the labels it must be counted under. */
interface RequestKind {
  name: string;
  path: string;
  body: Record<string, unknown>;
  client: ClientBehaviour | ((random: () => number) => ClientBehaviour);
  endpoint: 'completions' | 'chat_completions';
  requestType: 'unary' | 'stream';
  status: 'success' | 'error';
}

const read: ClientBehaviour = { kind: 'read' };
// Abandoned streams are 100 chunks of 5 ms: the client always leaves before they could end.
const longStream = { stream: true, chunks: 100, delayMs: 5 };
const abandonEarly = (random: () => number): ClientBehaviour => ({ kind: 'abandon', chunks: 1 + Math.floor(random() * 3) });

const KINDS: RequestKind[] = [
  { name: 'value', path: '/shapes/value', body: {}, client: read, endpoint: 'completions', requestType: 'unary', status: 'success' },
  {
    name: 'promise',
    path: '/shapes/promise',
    body: { delayMs: 2 },
    client: read,
    endpoint: 'completions',
    requestType: 'unary',
    status: 'success',
  },
  {
    name: 'observable',
    path: '/shapes/observable',
    body: { delayMs: 2 },
    client: read,
    endpoint: 'chat_completions',
    requestType: 'unary',
    status: 'success',
  },
  {
    name: 'http-400',
    path: '/shapes/status/400',
    body: {},
    client: read,
    endpoint: 'chat_completions',
    requestType: 'unary',
    status: 'error',
  },
  {
    name: 'http-429',
    path: '/shapes/status/429',
    body: {},
    client: read,
    endpoint: 'chat_completions',
    requestType: 'unary',
    status: 'error',
  },
  {
    name: 'http-503',
    path: '/shapes/status/503',
    body: {},
    client: read,
    endpoint: 'chat_completions',
    requestType: 'unary',
    status: 'error',
  },
  { name: 'crash', path: '/shapes/crash', body: {}, client: read, endpoint: 'chat_completions', requestType: 'unary', status: 'error' },
  {
    name: 'readable',
    path: '/shapes/readable',
    body: { stream: true, chunks: 4 },
    client: read,
    endpoint: 'completions',
    requestType: 'stream',
    status: 'success',
  },
  {
    name: 'readable-fails',
    path: '/shapes/readable',
    body: { stream: true, chunks: 4, failAfter: 2 },
    client: read,
    endpoint: 'completions',
    requestType: 'stream',
    status: 'error',
  },
  {
    name: 'readable-abandoned',
    path: '/shapes/readable',
    body: longStream,
    client: abandonEarly,
    endpoint: 'completions',
    requestType: 'stream',
    status: 'error',
  },
  {
    name: 'file-slow-client',
    path: '/shapes/streamable-file',
    body: { stream: true, chunks: 4, delayMs: 1 },
    client: { kind: 'slow', pauseMs: 30 },
    endpoint: 'completions',
    requestType: 'stream',
    status: 'success',
  },
  {
    name: 'res-sse',
    path: '/shapes/res',
    body: { stream: true, chunks: 4 },
    client: read,
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'success',
  },
  {
    name: 'res-sse-abandoned',
    path: '/shapes/res',
    body: longStream,
    client: abandonEarly,
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'error',
  },
  {
    name: 'res-status-500',
    path: '/shapes/res-status/500',
    body: {},
    client: read,
    endpoint: 'chat_completions',
    requestType: 'unary',
    status: 'error',
  },
  {
    name: 'sse',
    path: '/shapes/sse-post',
    body: { chunks: 4 },
    client: read,
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'success',
  },
  {
    name: 'sse-fails',
    path: '/shapes/sse-post',
    body: { chunks: 4, failAfter: 1 },
    client: read,
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'error',
  },
  {
    name: 'sse-abandoned',
    path: '/shapes/sse-post',
    body: longStream,
    client: abandonEarly,
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'error',
  },
  {
    name: 'sse-slow-client',
    path: '/shapes/sse-post',
    body: { chunks: 4 },
    client: { kind: 'slow', pauseMs: 30 },
    endpoint: 'chat_completions',
    requestType: 'stream',
    status: 'success',
  },
];

const ROUNDS = 3;
const REQUESTS_PER_ROUND = 1500;
const CONCURRENCY = 64;

describe.each(ADAPTERS)('exact accounting under load and faults (%s)', (adapter) => {
  let app: RunningApp;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  beforeAll(async () => {
    app = await startApp(ResponseShapesAppModule.register(), { adapter });
  });
  afterAll(async () => {
    agent.destroy();
    await app.close();
  });

  it(`counts ${ROUNDS} rounds of ${REQUESTS_PER_ROUND} mixed requests at concurrency ${CONCURRENCY} exactly, with nothing left over`, async () => {
    const random = seededRandom(20261127);
    const sent = new Map<string, number>();
    let seriesAfterFirstRound: number | undefined;

    for (let round = 1; round <= ROUNDS; round++) {
      const tasks = Array.from({ length: REQUESTS_PER_ROUND }, () => {
        const kind = KINDS[Math.floor(random() * KINDS.length)];
        const client = typeof kind.client === 'function' ? kind.client(random) : kind.client;
        sent.set(kind.name, (sent.get(kind.name) ?? 0) + 1);
        return () => send(app.baseUrl, kind.path, { model: kind.name, ...kind.body }, client, agent);
      });
      await runBounded(tasks, CONCURRENCY, 60_000);

      const total = [...sent.values()].reduce((sum, count) => sum + count, 0);
      const text = await eventually(
        () => scrape(app.baseUrl),
        (t) => sumOf(t, REQUESTS) >= total && sumOf(t, INFLIGHT) === 0,
        15_000,
      );
      expect(sumOf(text, REQUESTS)).toBe(total);
      for (const kind of KINDS) {
        const labels = { model: kind.name, endpoint: kind.endpoint, request_type: kind.requestType, status: kind.status };
        expect({ kind: kind.name, counted: sumOf(text, REQUESTS, labels) }).toEqual({ kind: kind.name, counted: sent.get(kind.name) ?? 0 });
        expect({ kind: kind.name, counted: sumOf(text, REQUESTS, { model: kind.name }) }).toEqual({
          kind: kind.name,
          counted: sent.get(kind.name) ?? 0,
        });
        expect({ kind: kind.name, durations: sumOf(text, DURATION_COUNT, { model: kind.name }) }).toEqual({
          kind: kind.name,
          durations: sent.get(kind.name) ?? 0,
        });
      }
      for (const sample of parseExposition(text).filter((s) => s.name === INFLIGHT)) {
        expect({ model: sample.labels.model, inflight: sample.value }).toEqual({ model: sample.labels.model, inflight: 0 });
      }
      expect(app.app.get(LlmMetricsService).inflightCount).toBe(0);
      // Nothing accumulates: the same label sets, round after round.
      const series = parseExposition(text).length;
      seriesAfterFirstRound ??= series;
      expect(series).toBe(seriesAfterFirstRound);
    }
  }, 240_000);
});
