import { resolve } from 'node:path';
import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import { type PanelQuery, loadDashboard, panelQueries, panelsOfRow, substitute } from './support/grafana.js';
import { type RunningApp, startApp } from './support/http.js';
import {
  type PrometheusServer,
  type VectorSample,
  pollUntil,
  requirePrometheus,
  startPrometheus,
  targetsUp,
} from './support/prometheus.js';

/*
 * The "Answers" row of grafana/llm-metrics.json against a real Prometheus:
 * the sample, driven by the openai client with answers of every kind
 * (length cut-offs, tool calls that fail, reasoning, prefix-cache hits), is
 * scraped every second; the counters must say what the traffic implies, and
 * every query of the row must show it.
 */

const DASHBOARD_FILE = resolve(import.meta.dirname, '../grafana/llm-metrics.json');
const P = 'nv_llm_http_service_';
const SMALL = 'mock-gpt-small';
const REASONER = 'mock-reasoner';
const WEATHER_TOOL = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } };
const ROUNDS = 2;

const byModel = (samples: VectorSample[]) => Object.fromEntries(samples.map((sample) => [sample.labels.model, sample.value]));

describe('the Answers row of the Grafana dashboard, against a real Prometheus', () => {
  let app: RunningApp | undefined;
  let prometheus: PrometheusServer | undefined;
  const dashboard = loadDashboard(DASHBOARD_FILE);
  const row = panelsOfRow(dashboard, 'Answers');
  /** Per model, the prompt tokens and cached prompt tokens of the answers' usage, as the client saw them. */
  const usage: Record<string, { prompt: number; cached: number }> = {};
  const note = (model: string, prompt = 0, cached = 0) => {
    usage[model] ??= { prompt: 0, cached: 0 };
    usage[model].prompt += prompt;
    usage[model].cached += cached;
  };

  /**
   * One round, the same each time: a system message of the round's own keeps the
   * prefix cache's hits alike in every round (the second of two equal prompts).
   * Per round, SMALL: 3 stop, 1 length, 3 tool calls (ok, unknown_tool,
   * invalid_arguments); REASONER: 3 streams that reason 4 of their 16 tokens.
   */
  async function sendRound(client: OpenAI, round: number): Promise<number> {
    const ask = (content: string) => [
      { role: 'system' as const, content: `round ${round}` },
      { role: 'user' as const, content },
    ];
    const chats = [
      { model: SMALL, messages: ask('Hello there') },
      { model: SMALL, messages: ask('Hello there') },
      { model: SMALL, messages: ask('Tell me more'), max_tokens: 4 },
      { model: SMALL, messages: ask('What is the weather?'), tools: [WEATHER_TOOL] },
      { model: SMALL, messages: ask('call lookup {}'), tools: [WEATHER_TOOL] },
      { model: SMALL, messages: ask('call get_weather {"city": '), tools: [WEATHER_TOOL] },
    ];
    for (const request of chats) {
      const { usage: seen } = await client.chat.completions.create(request);
      note(request.model, seen?.prompt_tokens, seen?.prompt_tokens_details?.cached_tokens);
    }
    for (const request of [
      { model: SMALL, messages: ask('Stream it') },
      { model: REASONER, messages: ask('Think first'), reasoning_effort: 'low' as const },
      { model: REASONER, messages: ask('Think again'), reasoning_effort: 'high' as const },
    ]) {
      const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        note(request.model, chunk.usage?.prompt_tokens, chunk.usage?.prompt_tokens_details?.cached_tokens);
      }
    }
    const events = await client.responses.create({
      model: REASONER,
      input: `Think in round ${round}`,
      reasoning: { effort: 'low' },
      stream: true,
    });
    for await (const event of events) {
      if (event.type === 'response.completed') {
        note(REASONER, event.response.usage?.input_tokens, event.response.usage?.input_tokens_details.cached_tokens);
      }
    }
    return chats.length + 4;
  }

  beforeAll(async () => {
    requirePrometheus();
    app = await startApp(
      AppModule.register({
        tokenDelayMs: 10,
        models: [SMALL, REASONER],
        apiKeys: {},
        metrics: { defaultLabels: { instance: 'answers-a' } },
      }),
    );
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      jobs: [{ jobName: 'llm-answers', honorLabels: true, targets: [new URL(app.baseUrl).host] }],
    });
    const up = await targetsUp(prometheus, 1);
    expect(up.done).toBe(true);
    const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    let sent = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      sent += await sendRound(client, round);
      const counted = await pollUntil(
        async () => (await prometheus!.queryVector(`sum(${P}requests_total)`))[0]?.value,
        (total) => total === sent,
        { timeoutMs: 10_000 },
      );
      expect(counted).toEqual({ value: sent, done: true });
    }
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await app?.close();
    }
  }, 30_000);

  /** The expression of a query of the row, as Grafana sends it. */
  const exprOf = (title: string, refId: string) => {
    const query = panelQueries({ ...dashboard, panels: row }).find((q) => q.panel.title === title && q.refId === refId);
    expect({ title, refId, found: query !== undefined }).toEqual({ title, refId, found: true });
    return substitute((query as PanelQuery).expr, dashboard);
  };
  const run = async (title: string, refId = 'A') => prometheus!.queryVector(exprOf(title, refId));
  const total = async (expr: string) => byModel(await prometheus!.queryVector(expr));

  it('has the six panels: length share, finish reasons, first token vs first content token, reasoning share, tool-call failures, cache hit ratio', () => {
    expect(row.map((panel) => panel.title)).toEqual([
      'Answers cut at max_tokens (finish_reason="length")',
      'Finish reasons',
      'Time to first token vs first content token p90',
      'Reasoning share of output tokens',
      'Tool-call failures',
      'Prefix-cache hit ratio',
    ]);
  });

  it('holds the counts the traffic implies, read by PromQL', async () => {
    expect(await total(`sum by (model) (${P}finish_reasons_total{finish_reason="length"})`)).toEqual({ [SMALL]: ROUNDS });
    expect(await total(`sum by (model) (${P}finish_reasons_total)`)).toEqual({ [SMALL]: 7 * ROUNDS, [REASONER]: 3 * ROUNDS });
    const outcomes = await prometheus!.queryVector(`sum by (outcome) (${P}tool_calls_total)`);
    expect(Object.fromEntries(outcomes.map((sample) => [sample.labels.outcome, sample.value]))).toEqual({
      ok: ROUNDS,
      unknown_tool: ROUNDS,
      invalid_arguments: ROUNDS,
    });
    expect(await total(`sum by (model) (${P}reasoning_tokens_total)`)).toEqual({ [SMALL]: 0, [REASONER]: 12 * ROUNDS });
    expect(await total(`sum by (model) (${P}cached_prompt_tokens_total)`)).toEqual({
      [SMALL]: usage[SMALL].cached,
      [REASONER]: usage[REASONER].cached,
    });
    expect(await total(`sum by (model) (${P}input_sequence_tokens_sum)`)).toEqual({
      [SMALL]: usage[SMALL].prompt,
      [REASONER]: usage[REASONER].prompt,
    });
    expect(usage[SMALL].cached).toBeGreaterThan(0);
  });

  // Rates over a window extrapolate each series a little differently: the panels' ratios are the traffic's within 0.05.
  it('shows the share of answers cut at max_tokens, 1 in 7 of SMALL, none of the reasoner, and no content filter', async () => {
    const length = byModel(await run('Answers cut at max_tokens (finish_reason="length")'));
    expect(Object.keys(length).sort()).toEqual([SMALL, REASONER].sort());
    expect(length[SMALL]).toBeCloseTo(1 / 7, 1);
    expect(length[REASONER]).toBe(0);
    expect(Object.values(byModel(await run('Answers cut at max_tokens (finish_reason="length")', 'B')))).toEqual([0, 0]);
    const reasons = await run('Finish reasons');
    expect(reasons.map((sample) => sample.labels.finish_reason).sort()).toEqual(['length', 'stop', 'tool_calls']);
  });

  it('shows the first content token after the first token for the reasoner, and the same without reasoning', async () => {
    const title = 'Time to first token vs first content token p90';
    expect(Object.keys(byModel(await run(title, 'B'))).sort()).toEqual([SMALL, REASONER].sort());
    // Both in one query, evaluated at one instant: two queries a moment apart see their windows move.
    const gap = byModel(await prometheus!.queryVector(`(${exprOf(title, 'B')}) - (${exprOf(title, 'A')})`));
    expect(gap[SMALL]).toBe(0);
    expect(gap[REASONER]).toBeGreaterThanOrEqual(0);
  });

  it('shows the reasoning share of output tokens: 4 of 16 for the reasoner, none for SMALL', async () => {
    const share = byModel(await run('Reasoning share of output tokens'));
    expect(share[REASONER]).toBeCloseTo(0.25, 1);
    expect(share[SMALL]).toBe(0);
  });

  it('shows the tool-call failures by outcome, and their share: 2 of 3', async () => {
    const failures = await run('Tool-call failures', 'A');
    expect(failures.map((sample) => `${sample.labels.model} ${sample.labels.outcome}`).sort()).toEqual([
      `${SMALL} invalid_arguments`,
      `${SMALL} unknown_tool`,
    ]);
    expect(failures.every((sample) => sample.value > 0)).toBe(true);
    expect(byModel(await run('Tool-call failures', 'B'))[SMALL]).toBeCloseTo(2 / 3, 1);
  });

  it('shows the prefix-cache hit ratio the usage implies', async () => {
    const ratio = byModel(await run('Prefix-cache hit ratio'));
    for (const model of [SMALL, REASONER]) {
      expect({ model, ratio: ratio[model] }).toEqual({ model, ratio: expect.closeTo(usage[model].cached / usage[model].prompt, 1) });
    }
  });
});
