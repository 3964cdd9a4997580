import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import type { SloOption } from '../src/index.js';
import { hasSample, samplesOf, sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';
import { EASY, EASY_TARGETS, HARD, HARD_TARGETS } from './app/slo-targets.js';

const P = 'nv_llm_http_service_';
const SLO = `${P}slo_requests_total`;
/** EASY meets every objective, HARD misses every one but in the relaxed tier. */
const SLO_TARGETS: SloOption = {
  chat_completions: { models: { [EASY]: EASY_TARGETS, [HARD]: HARD_TARGETS }, tiers: { relaxed: EASY_TARGETS } },
  embeddings: { duration: 30 },
};

describe.each(ADAPTERS)('service-level objectives, through the sample with the openai client (%s)', (adapter) => {
  let app: RunningApp;
  let text: string;

  beforeAll(async () => {
    app = await startApp(
      AppModule.register({
        tokenDelayMs: 20,
        models: [EASY, HARD],
        apiKeys: {},
        metrics: { slo: SLO_TARGETS, sloTierFrom: (request) => (request as { headers: Record<string, unknown> }).headers['x-slo-tier'] },
      }),
      { adapter },
    );
    const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    const messages = [{ role: 'user' as const, content: 'Hello there' }];
    for (const model of [EASY, HARD]) {
      // A stream with its usage: every objective judged. A unary chat: its duration only.
      const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
      for await (const _ of stream) {
        // read it to its end
      }
      await client.chat.completions.create({ model, messages });
    }
    // HARD's targets, relaxed for this request by its tier; a made-up tier changes nothing.
    await client.chat.completions.create({ model: HARD, messages }, { headers: { 'x-slo-tier': 'relaxed' } });
    await client.chat.completions.create({ model: HARD, messages }, { headers: { 'x-slo-tier': 'platinum-9000' } });
    // An error misses `all`; an endpoint without targets (completions) counts none.
    await postJson(app.baseUrl, '/v1/chat/completions', { model: EASY, messages: 'not an array' });
    await client.completions.create({ model: EASY, prompt: 'Hello there' });
    await client.embeddings.create({ model: EASY, input: 'Hello there' });
    text = await eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, `${P}requests_total`) === 9 && sumOf(t, `${P}inflight_requests`) === 0,
    );
  }, 30_000);
  afterAll(() => app.close());

  const counted = (model: string) =>
    samplesOf(text, SLO, { model })
      .map(({ labels, value }) => `${labels.endpoint} ${labels.slo} ${labels.outcome} ${value}`)
      .sort();

  it('counts the easy model as meeting every objective: the stream all three, the unary chat and the embedding their duration', () => {
    expect(counted(EASY)).toEqual([
      'chat_completions all met 2',
      // The 400: its duration is known (and met), and it misses `all` as every error does.
      'chat_completions all missed 1',
      'chat_completions duration met 3',
      'chat_completions time_per_output_token met 1',
      'chat_completions time_to_first_token met 1',
      'embeddings all met 1',
      'embeddings duration met 1',
    ]);
  });

  it('counts the hard model as missing every objective, but the request whose tier relaxed them; a made-up tier is ignored', () => {
    expect(counted(HARD)).toEqual([
      'chat_completions all met 1',
      'chat_completions all missed 3',
      'chat_completions duration met 1',
      'chat_completions duration missed 3',
      'chat_completions time_per_output_token missed 1',
      'chat_completions time_to_first_token missed 1',
    ]);
  });

  it('counts the output tokens of the requests that met every objective as goodput: 16 per answer', () => {
    // The stream and the unary chat; the embedding met its objective, and has no output tokens.
    expect(valueOf(text, `${P}goodput_tokens_total`, { model: EASY })).toBe(16 * 2);
    expect(valueOf(text, `${P}goodput_tokens_total`, { model: HARD })).toBe(16);
  });

  it('puts the targets in the latency buckets, so that the buckets agree with the counters at each target', () => {
    const bounds = (name: string) => new Set(samplesOf(text, `${P}${name}_bucket`, { model: EASY }).map(({ labels }) => labels.le));
    const has = (name: string, les: string[]) => les.filter((le) => !bounds(name).has(le));
    expect(has('request_duration_seconds', ['0.0015', '30', '45'])).toEqual([]);
    expect(has('time_to_first_token_seconds', ['0.0015', '9.5'])).toEqual([]);
    expect(has('inter_token_latency_seconds', ['0.0015', '0.75'])).toEqual([]);
    // Only the relaxed request of HARD met its duration target; none took 1.5 ms or less.
    expect(valueOf(text, `${P}request_duration_seconds_bucket`, { model: HARD, le: '0.0015' })).toBe(0);
    expect(hasSample(text, SLO, { model: HARD, endpoint: 'chat_completions', slo: 'duration', outcome: 'missed' })).toBe(true);
  });

  it('passes promtool check metrics, and shows the counters in OpenMetrics too', async () => {
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    const openMetrics = await scrape(app.baseUrl, '/metrics', 'application/openmetrics-text; version=1.0.0');
    expect(openMetrics).toContain(`# TYPE ${P}slo_requests counter`);
    expect(openMetrics).toContain(`${SLO}{model="${EASY}",endpoint="chat_completions",slo="all",outcome="met"} 2`);
  });
});

describe.each(ADAPTERS)('Server-Timing on unary answers, with serverTiming: true (%s)', (adapter) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(AppModule.register({ tokenDelayMs: 5, apiKeys: {}, metrics: { serverTiming: true } }), { adapter });
  });
  afterAll(() => app.close());

  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${app.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Hello there' }], ...body }),
    });
  const TIMING = /^total;dur=(\d+\.\d), handler;dur=(\d+\.\d)$/;

  it('gives a unary answer its total and handler time in ms, the handler no longer than the total', async () => {
    for (const route of ['/v1/completions', '/v1/embeddings']) {
      const body = route === '/v1/completions' ? { model: 'mock-gpt-small', prompt: 'Hi' } : { model: 'mock-gpt-small', input: 'Hi' };
      const response = await fetch(`${app.baseUrl}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await response.text();
      const [, total, handler] = TIMING.exec(response.headers.get('server-timing') ?? '') ?? [];
      expect({ route, matched: total !== undefined }).toEqual({ route, matched: true });
      expect(Number(handler)).toBeLessThanOrEqual(Number(total));
    }
  });

  it('times a @Res() answer to its head, and an error answer too; a stream gets no header', async () => {
    const unary = await chat({});
    await unary.text();
    expect(unary.headers.get('server-timing')).toMatch(/^total;dur=\d+\.\d$/);
    const refused = await chat({ messages: 'not an array' });
    await refused.text();
    expect(refused.status).toBe(400);
    expect(refused.headers.get('server-timing')).toMatch(/^total;dur=\d+\.\d$/);
    const stream = await chat({ stream: true });
    await stream.text();
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('server-timing')).toBeNull();
  });

  it('refuses a serverTiming that is not a boolean at start-up', async () => {
    await expect(startApp(AppModule.register({ metrics: { serverTiming: 'yes' as unknown as boolean } }), { adapter })).rejects.toThrow(
      'option "serverTiming" must be a boolean, got "yes"',
    );
  });
});
