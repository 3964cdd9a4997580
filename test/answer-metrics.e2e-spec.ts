import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import type { SchemaName } from '../src/index.js';
import { AnswerEchoAppModule } from './app/answer-echo.app.module.js';
import { hasSample, samplesOf, sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, abandonAfter, eventually, postJson, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const SMALL = 'mock-gpt-small';
const LLAMA = 'mock-llama-3-8b';
/** Only reasoning streams go to this model, so its time to first content token is theirs alone. */
const REASONER = 'mock-reasoner';
const PREFIX: Record<SchemaName, string> = { 'dynamo-0.2.1': 'nv_llm_http_service_', 'dynamo-frontend': 'dynamo_frontend_' };
const WEATHER_TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } };
const SEARCH_TOOL = { type: 'function' as const, name: 'search', parameters: { type: 'object' }, strict: false };

/** Prompt tokens the engine's prefix cache served, as the client saw them in each answer's usage. */
interface SeenUsage {
  cached: Record<string, number>;
}

const schemas: SchemaName[] = ['dynamo-0.2.1', 'dynamo-frontend'];
const cases = ADAPTERS.flatMap((adapter) => schemas.map((schema) => [adapter, schema] as const));

describe.each(cases)('what the answer was, through the sample with the openai client (%s, %s)', (adapter, schema) => {
  const P = PREFIX[schema];
  let app: RunningApp;
  let text: string;
  const seen: SeenUsage = { cached: {} };
  const noteCached = (model: string, cached: number | undefined) => {
    seen.cached[model] = (seen.cached[model] ?? 0) + (cached ?? 0);
  };

  beforeAll(async () => {
    app = await startApp(AppModule.register({ tokenDelayMs: 5, models: [SMALL, LLAMA, REASONER], apiKeys: {}, metrics: { schema } }), {
      adapter,
    });
    const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    const ask = (content: string) => [{ role: 'user' as const, content }];

    // Chat completions, unary: stop, reasoning, length, and three tool calls (ok, unknown tool, invalid arguments).
    for (const request of [
      { model: SMALL, messages: ask('Hello there') },
      { model: LLAMA, messages: ask('Hello there'), reasoning_effort: 'low' as const },
      { model: SMALL, messages: ask('Hello there'), max_tokens: 3 },
      { model: SMALL, messages: ask('What is the weather?'), tools: [WEATHER_TOOL] },
      { model: SMALL, messages: ask('call lookup {}'), tools: [WEATHER_TOOL] },
      { model: SMALL, messages: ask('call get_weather {"city": '), tools: [WEATHER_TOOL] },
    ]) {
      const completion = await client.chat.completions.create(request);
      noteCached(request.model, completion.usage?.prompt_tokens_details?.cached_tokens);
    }
    // Chat completions, streamed with their usage: stop, reasoning, a tool call in pieces, a reasoning cut at max_tokens.
    for (const request of [
      { model: SMALL, messages: ask('Hello there') },
      { model: REASONER, messages: ask('Hello there'), reasoning_effort: 'medium' as const },
      { model: SMALL, messages: ask('What is the weather in Paris?'), tools: [WEATHER_TOOL] },
      { model: LLAMA, messages: ask('Think hard'), reasoning_effort: 'high' as const, max_tokens: 2 },
    ]) {
      const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        if (chunk.usage) {
          noteCached(request.model, chunk.usage.prompt_tokens_details?.cached_tokens);
        }
      }
    }
    // Completions: a batch of two prompts (one finish reason for the request), and a stream cut at max_tokens.
    const batch = await client.completions.create({ model: SMALL, prompt: ['Hello there', 'General Kenobi'] });
    noteCached(SMALL, batch.usage?.prompt_tokens_details?.cached_tokens);
    const cut = await client.completions.create({
      model: SMALL,
      prompt: 'Hello',
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of cut) {
      if (chunk.usage) {
        noteCached(SMALL, chunk.usage.prompt_tokens_details?.cached_tokens);
      }
    }
    // The Responses API, unary: stop, reasoning, a function call.
    for (const request of [
      { model: SMALL, input: 'Hello there' },
      { model: LLAMA, input: 'Hello there', reasoning: { effort: 'low' as const } },
      { model: SMALL, input: 'Find me a song', tools: [SEARCH_TOOL] },
    ]) {
      const response = await client.responses.create(request);
      noteCached(request.model, response.usage?.input_tokens_details.cached_tokens);
    }
    // The Responses API, streamed: reasoning then text, and a cut at max_output_tokens.
    for (const request of [
      { model: REASONER, input: 'Hello there', reasoning: { effort: 'low' as const } },
      { model: SMALL, input: 'Hello there', max_output_tokens: 3 },
    ]) {
      const events = await client.responses.create({ ...request, stream: true });
      for await (const event of events) {
        if (event.type === 'response.completed' || event.type === 'response.incomplete') {
          noteCached(request.model, event.response.usage?.input_tokens_details.cached_tokens);
        }
      }
    }
    // The client's own stream helper, which rebuilds the answer from the events: a call of a tool not offered.
    const helper = client.responses.stream({ model: SMALL, input: 'call play {"song": "x"}', tools: [SEARCH_TOOL] });
    const final = await helper.finalResponse();
    expect(final.output.map((item) => item.type)).toEqual(['function_call']);
    noteCached(SMALL, final.usage?.input_tokens_details.cached_tokens);
    // No finish reason: embeddings, an unknown model (404), a stream its client leaves.
    await client.embeddings.create({ model: SMALL, input: 'Hello there' });
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: ask('hi') })).rejects.toThrow(/404/);
    await abandonAfter(app.baseUrl, '/v1/chat/completions', {
      body: { model: SMALL, messages: ask('Hello there'), stream: true },
      chunks: 1,
    });

    text = await eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, `${P}requests_total`) === 22 && sumOf(t, `${P}inflight_requests`) === 0,
    );
  });
  afterAll(() => app.close());

  const finish = (model: string, endpoint: string, reason: string) =>
    valueOf(text, `${P}finish_reasons_total`, { model, endpoint, finish_reason: reason });

  it('counts each request once by its finish reason, as the traffic implies, and no reason it did not give', () => {
    const counted = samplesOf(text, `${P}finish_reasons_total`)
      .filter((sample) => sample.value > 0)
      .map(({ labels, value }) => `${labels.model} ${labels.endpoint} ${labels.finish_reason} ${value}`)
      .sort();
    expect(counted).toEqual(
      [
        `${SMALL} chat_completions stop 2`,
        `${SMALL} chat_completions length 1`,
        `${SMALL} chat_completions tool_calls 4`,
        `${SMALL} chat_completions none 1`,
        `${LLAMA} chat_completions stop 1`,
        `${LLAMA} chat_completions length 1`,
        `${REASONER} chat_completions stop 1`,
        `${SMALL} completions stop 1`,
        `${SMALL} completions length 1`,
        `${SMALL} responses stop 1`,
        `${SMALL} responses length 1`,
        `${SMALL} responses tool_calls 2`,
        `${LLAMA} responses stop 1`,
        `${REASONER} responses stop 1`,
        `${SMALL} embeddings none 1`,
        `unknown_model chat_completions none 1`,
      ].sort(),
    );
    expect(sumOf(text, `${P}finish_reasons_total`)).toBe(sumOf(text, `${P}requests_total`));
    expect(finish(SMALL, 'chat_completions', 'length')).toBe(1);
  });

  it('judges each tool call: a tool of the request with JSON arguments, an unknown tool, arguments that do not parse', () => {
    const calls = (model: string, endpoint: string, outcome: string) => valueOf(text, `${P}tool_calls_total`, { model, endpoint, outcome });
    expect(calls(SMALL, 'chat_completions', 'ok')).toBe(2);
    expect(calls(SMALL, 'chat_completions', 'unknown_tool')).toBe(1);
    expect(calls(SMALL, 'chat_completions', 'invalid_arguments')).toBe(1);
    expect(calls(SMALL, 'responses', 'ok')).toBe(1);
    expect(calls(SMALL, 'responses', 'unknown_tool')).toBe(1);
    expect(sumOf(text, `${P}tool_calls_total`)).toBe(6);
  });

  it("counts the usage's reasoning tokens, and the cached prompt tokens the client was told of", () => {
    // 4 (low, unary) + 2 (cut at max_tokens 2) + 4 (Responses, unary); the reasoner's two streams 4 each.
    expect(valueOf(text, `${P}reasoning_tokens_total`, { model: LLAMA })).toBe(10);
    expect(valueOf(text, `${P}reasoning_tokens_total`, { model: REASONER })).toBe(8);
    expect(valueOf(text, `${P}reasoning_tokens_total`, { model: SMALL })).toBe(0);
    expect(seen.cached[SMALL]).toBeGreaterThan(0);
    for (const model of [SMALL, LLAMA, REASONER]) {
      expect(valueOf(text, `${P}cached_prompt_tokens_total`, { model })).toBe(seen.cached[model]);
    }
    // The hit ratio of the dashboard: cached over input tokens.
    const input = valueOf(text, `${P}input_sequence_tokens_sum`, { model: SMALL });
    expect(valueOf(text, `${P}cached_prompt_tokens_total`, { model: SMALL }) / input).toBeLessThanOrEqual(1);
  });

  it('observes the time to first content token after the reasoning, and equal to the time to first token without it', () => {
    const ttft = (model: string, what: 'sum' | 'count') => valueOf(text, `${P}time_to_first_token_seconds_${what}`, { model });
    const ttfc = (model: string, what: 'sum' | 'count') => valueOf(text, `${P}time_to_first_content_token_seconds_${what}`, { model });
    // The reasoner's two streams reasoned first: their content came later than their first token.
    expect(ttfc(REASONER, 'count')).toBe(2);
    expect(ttft(REASONER, 'count')).toBe(2);
    expect(ttfc(REASONER, 'sum')).toBeGreaterThan(ttft(REASONER, 'sum'));
    // The stream cut during its reasoning had a first token and no content.
    expect(ttft(LLAMA, 'count')).toBe(1);
    expect(hasSample(text, `${P}time_to_first_content_token_seconds_count`, { model: LLAMA })).toBe(false);
    // Without reasoning the first token is content: the same observation, the same sum.
    expect(ttfc(SMALL, 'count')).toBe(ttft(SMALL, 'count'));
    expect(ttfc(SMALL, 'count')).toBeGreaterThanOrEqual(5);
    expect(ttfc(SMALL, 'sum')).toBeCloseTo(ttft(SMALL, 'sum'), 9);
  });

  it('passes promtool check metrics', () => {
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });
});

/** One SSE event of `data`. */
const event = (data: unknown) => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const chunk = (choices: unknown[]) => event({ object: 'chat.completion.chunk', model: 'm', choices });
const toolDelta = (index: number, fn: Record<string, unknown>, choice = 0) => ({
  index: choice,
  delta: { tool_calls: [{ index, ...(fn.name !== undefined && { id: `call_${index}`, type: 'function' }), function: fn }] },
  finish_reason: null,
});

describe.each(ADAPTERS)('odd and hostile answers stay bounded, and never fail a request (%s)', (adapter) => {
  const P = PREFIX['dynamo-0.2.1'];
  let app: RunningApp;
  let sent = 0;

  beforeAll(async () => {
    // Bodies of megabytes: the answers to echo, 10 000 offered tools.
    const bigBodies = (nest: INestApplication) =>
      adapter === 'fastify'
        ? (nest as NestFastifyApplication).useBodyParser('application/json', { bodyLimit: 64 << 20 })
        : (nest as NestExpressApplication).useBodyParser('json', { limit: 64 << 20 });
    app = await startApp(AnswerEchoAppModule.register(), { adapter, configure: bigBodies });
  });
  afterAll(() => app.close());

  /** Streams `chunks` as they are through the echo route, and checks the client got every byte, with a 200. */
  const stream = async (model: string, chunks: string[], extra: Record<string, unknown> = {}) => {
    const res = await postJson(app.baseUrl, '/echo/stream', { model, stream: true, chunks, ...extra });
    sent++;
    expect(res.status).toBe(200);
    expect(res.text).toBe(chunks.join(''));
  };
  const unary = async (model: string, answer: unknown, extra: Record<string, unknown> = {}) => {
    const res = await postJson(app.baseUrl, '/echo/unary', { model, answer, ...extra });
    sent++;
    expect(res.status).toBe(200);
  };
  const metrics = () =>
    eventually(
      () => scrape(app.baseUrl),
      (t) => sumOf(t, `${P}requests_total`) === sent && sumOf(t, `${P}inflight_requests`) === 0,
    );
  const finishes = (t: string, model: string) =>
    Object.fromEntries(
      samplesOf(t, `${P}finish_reasons_total`, { model })
        .filter((sample) => sample.value > 0)
        .map(({ labels, value }) => [labels.finish_reason, value]),
    );
  /** The tool calls counted by outcome (an outcome never seen has no series). */
  const outcomes = (t: string, model: string) =>
    Object.fromEntries(samplesOf(t, `${P}tool_calls_total`, { model }).map(({ labels, value }) => [labels.outcome, value]));

  it('collapses finish reasons the API does not name to other: a bounded label set', async () => {
    for (let i = 0; i < 50; i++) {
      await unary('odd', { choices: [{ index: 0, message: { content: 'x' }, finish_reason: `reason-${i}-${'z'.repeat(i * 20)}` }] });
    }
    await unary('odd', { choices: [{ index: 0, message: { content: 'x' }, finish_reason: 'none' }] });
    await unary('odd', { choices: [{ index: 0, message: { content: 'x' }, finish_reason: 42 }] });
    await stream('odd', [chunk([{ index: 0, delta: { content: 'x' }, finish_reason: 'abort' }]), event('[DONE]')]);
    const t = await metrics();
    expect(finishes(t, 'odd')).toEqual({ other: 52, none: 1 });
    expect(new Set(samplesOf(t, `${P}finish_reasons_total`).map((sample) => sample.labels.finish_reason)).size).toBeLessThanOrEqual(7);
  });

  it('tells the reason of several choices (n > 1) by the most telling one, and reads reasons split across writes', async () => {
    const body = chunk([
      { index: 0, delta: { content: 'a' }, finish_reason: 'stop' },
      { index: 1, delta: { content: 'b' }, finish_reason: 'length' },
    ]);
    // Split inside "finish_reason", inside its value and inside the next event's "data:".
    const cuts = [body.indexOf('finish_reason') + 4, body.lastIndexOf('length') + 3];
    const done = event('[DONE]');
    await stream('split', [body.slice(0, cuts[0]), body.slice(cuts[0], cuts[1]), body.slice(cuts[1]) + done.slice(0, 3), done.slice(3)]);
    await unary('split', {
      choices: [
        { index: 0, message: { content: 'a' }, finish_reason: 'stop' },
        { index: 1, message: { content: null }, finish_reason: 'content_filter' },
      ],
    });
    const t = await metrics();
    expect(finishes(t, 'split')).toEqual({ length: 1, content_filter: 1 });
  });

  it('counts a stream that ends without [DONE] by its last finish reason, and one that never says it as none', async () => {
    await stream('no-done', [
      chunk([{ index: 0, delta: { content: 'x' }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    ]);
    await stream('no-done', [chunk([{ index: 0, delta: { content: 'x' }, finish_reason: null }])]);
    await stream('no-done', [
      'data: {"choices": [{"index": 0, "finish_reason": "st',
      '\n\n',
      'data: not json at all\n\n',
      'garbage without a field\n\n',
    ]);
    const t = await metrics();
    expect(finishes(t, 'no-done')).toEqual({ stop: 1, none: 2 });
    expect(
      valueOf(t, `${P}requests_total`, { model: 'no-done', endpoint: 'chat_completions', request_type: 'stream', status: 'success' }),
    ).toBe(3);
  });

  it('counts 10 000 tool calls of distinct names in one stream by outcome only, judging them against the offered tools', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `tool_${i}`);
    // Each call in two deltas: its name, then its arguments; a call of a tool the request offers every 1000th.
    const chunks = names.flatMap((name, i) => [
      chunk([toolDelta(i, { name, arguments: '' })]),
      chunk([toolDelta(i, { arguments: i % 1000 === 0 ? '{}' : '{"q": 1}' })]),
    ]);
    chunks.push(chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]), event('[DONE]'));
    const offered = names.filter((_, i) => i % 1000 === 0).map((name) => ({ type: 'function', function: { name } }));
    await stream('many-tools', chunks, { tools: offered });
    const t = await metrics();
    expect(outcomes(t, 'many-tools')).toEqual({ ok: 10, unknown_tool: 9_990 });
    expect(finishes(t, 'many-tools')).toEqual({ tool_calls: 1 });
  });

  it('does not check names against 10 000 offered tools (more than it reads), and still judges the arguments', async () => {
    const tools = Array.from({ length: 10_000 }, (_, i) => ({ type: 'function', function: { name: `t${i}` } }));
    await unary(
      'offered',
      {
        choices: [
          {
            index: 0,
            message: { tool_calls: [{ id: 'a', type: 'function', function: { name: 'anything', arguments: '{' } }] },
            finish_reason: 'tool_calls',
          },
        ],
      },
      { tools },
    );
    const t = await metrics();
    expect(outcomes(t, 'offered')).toEqual({ invalid_arguments: 1 });
  });

  it('parses 1 MB of streamed arguments, and counts 2 MB (past what it keeps) as invalid, the stream delivered whole', async () => {
    const piece = 'a'.repeat(64 * 1024);
    const argumentsOf = (pieces: number) => [`{"blob": "`, ...Array.from({ length: pieces }, () => piece), '"}'];
    const streamOf = (parts: string[]) => [
      chunk([toolDelta(0, { name: 'upload', arguments: '' })]),
      ...parts.map((part) => chunk([toolDelta(0, { arguments: part })])),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
      event('[DONE]'),
    ];
    await stream('big-args', streamOf(argumentsOf(15))); // 983 kB
    await stream('big-args', streamOf(argumentsOf(32))); // 2 MB
    await stream('big-args', streamOf(['{"city": "Par'])); // not JSON
    const t = await metrics();
    expect(outcomes(t, 'big-args')).toEqual({ ok: 1, invalid_arguments: 2 });
  });

  it('reads what a handler reports through @RequestMetrics(): finish reason, tool calls, reasoning and cached tokens', async () => {
    const report = {
      finishReason: 'length',
      toolCalls: ['ok', { name: 'x', arguments: 'not json' }, { name: 'x', arguments: { already: 'parsed' } }],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 6 },
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    };
    const res = await postJson(app.baseUrl, '/echo/reported', { model: 'reported', report });
    sent++;
    expect(res.status).toBe(200);
    const t = await metrics();
    expect(finishes(t, 'reported')).toEqual({ length: 1 });
    expect(outcomes(t, 'reported')).toEqual({ ok: 2, invalid_arguments: 1 });
    expect(valueOf(t, `${P}reasoning_tokens_total`, { model: 'reported' })).toBe(3);
    expect(valueOf(t, `${P}cached_prompt_tokens_total`, { model: 'reported' })).toBe(6);
  });

  it('keeps the exposition promtool-clean and every gauge at zero after all of it', async () => {
    const t = await metrics();
    expect(sumOf(t, `${P}inflight_requests`)).toBe(0);
    expect(sumOf(t, `${P}requests_total`, { status: 'error' })).toBe(0);
    expect(promtoolCheck(t)).toEqual({ status: 0, output: '' });
  });
});
