import { Registry } from 'prom-client';
import { Endpoint, FinishReason, LlmMetricsService, type LlmMetricsServiceOptions, ToolCallOutcome } from '../../src/index.js';
import { hasSample, sumOf, valueOf } from '../support/exposition.js';

/** A clock the test moves by hand, in milliseconds. */
class ManualClock {
  now = 1000;
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

function serviceWith(options: LlmMetricsServiceOptions = {}, prefix?: string) {
  const clock = new ManualClock();
  const registry = new Registry();
  const metrics = new LlmMetricsService(prefix, { clock: clock.read, answerMetrics: true, ...options });
  metrics.register(registry);
  return { clock, registry, metrics, text: () => registry.metrics() };
}

const P = 'nv_llm_http_service_';

describe('the answer metrics of the guard', () => {
  it('observes the time to first content token after the reasoning, and the time to first token at the first reasoning token', async () => {
    const { clock, metrics, text } = serviceWith();
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(100);
    guard.recordOutput(1, 0);
    clock.advance(400);
    guard.recordOutput(2, 0);
    clock.advance(250);
    guard.recordOutput(1);
    clock.advance(50);
    guard.recordOutput(1);
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(valueOf(exposition, `${P}time_to_first_token_seconds_sum`, { model: 'm' })).toBeCloseTo(0.1, 9);
    expect(valueOf(exposition, `${P}time_to_first_content_token_seconds_sum`, { model: 'm' })).toBeCloseTo(0.75, 9);
    expect(valueOf(exposition, `${P}time_to_first_content_token_seconds_count`, { model: 'm' })).toBe(1);
  });

  it('equals the time to first token without reasoning, and is not observed for a unary answer or a stream of reasoning only', async () => {
    const { clock, metrics, text } = serviceWith();
    const plain = metrics.createInflightGuard('plain', Endpoint.ChatCompletions, true);
    clock.advance(300);
    plain.recordOutput(1);
    plain.finish();
    const thinking = metrics.createInflightGuard('thinking', Endpoint.ChatCompletions, true);
    thinking.recordOutput(3, 0);
    thinking.finish();
    const unary = metrics.createInflightGuard('unary', Endpoint.ChatCompletions, false);
    unary.recordOutput(5);
    unary.finish();
    const exposition = await text();
    expect(valueOf(exposition, `${P}time_to_first_content_token_seconds_sum`, { model: 'plain' })).toBe(
      valueOf(exposition, `${P}time_to_first_token_seconds_sum`, { model: 'plain' }),
    );
    expect(hasSample(exposition, `${P}time_to_first_content_token_seconds_count`, { model: 'thinking' })).toBe(false);
    expect(hasSample(exposition, `${P}time_to_first_content_token_seconds_count`, { model: 'unary' })).toBe(false);
  });

  it('counts each request once by its finish reason: the most telling of its choices, other for an unknown one, none without', async () => {
    const { metrics, text } = serviceWith();
    const finish = (reasons: string[], endpoint: string = Endpoint.ChatCompletions) => {
      const guard = metrics.createInflightGuard('m', endpoint, true);
      reasons.forEach((reason) => guard.recordFinishReason(reason));
      guard.markOk();
      guard.finish();
    };
    finish(['stop']);
    finish(['stop', 'length', 'stop']);
    finish(['tool_calls', 'content_filter']);
    finish(['abort']);
    finish(['stop', 'abort']);
    finish([]);
    finish(['']);
    finish([], Endpoint.Embeddings);
    const exposition = await text();
    const count = (finish_reason: string, endpoint = 'chat_completions') =>
      valueOf(exposition, `${P}finish_reasons_total`, { model: 'm', endpoint, finish_reason });
    expect(count(FinishReason.Stop)).toBe(1);
    expect(count(FinishReason.Length)).toBe(1);
    expect(count(FinishReason.ContentFilter)).toBe(1);
    expect(count(FinishReason.Other)).toBe(2);
    expect(count(FinishReason.None)).toBe(2);
    expect(count(FinishReason.None, 'embeddings')).toBe(1);
    expect(hasSample(exposition, `${P}finish_reasons_total`, { finish_reason: 'abort' })).toBe(false);
  });

  it('counts as many finish reasons as requests, whatever their outcome', async () => {
    const { metrics, text } = serviceWith();
    for (const end of ['ok', 'error', 'cancel', 'reject'] as const) {
      const guard = metrics.createInflightGuard('m', Endpoint.Completions, true);
      guard.recordFinishReason('stop');
      if (end === 'ok') {
        guard.markOk();
      }
      if (end === 'cancel') {
        guard.cancel();
      } else if (end === 'reject') {
        guard.reject();
      } else {
        guard.finish();
      }
    }
    const exposition = await text();
    expect(sumOf(exposition, `${P}finish_reasons_total`, { finish_reason: 'stop' })).toBe(4);
    expect(sumOf(exposition, `${P}finish_reasons_total`)).toBe(sumOf(exposition, `${P}requests_total`));
  });

  it('counts the tool calls reported, by outcome, when the request ends; an unknown outcome is refused by name', async () => {
    const { metrics, text } = serviceWith();
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    guard.recordToolCall(ToolCallOutcome.Ok);
    guard.recordToolCall(ToolCallOutcome.Ok, 2);
    guard.recordToolCall(ToolCallOutcome.UnknownTool);
    guard.recordToolCall(ToolCallOutcome.InvalidArguments, 0);
    expect(() => guard.recordToolCall('failed' as ToolCallOutcome)).toThrow(
      'nestjs-llm-metrics: invalid tool call outcome "failed": it is one of "ok", "invalid_arguments", "unknown_tool"',
    );
    expect(hasSample(await text(), `${P}tool_calls_total`, { outcome: 'ok' })).toBe(false);
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(valueOf(exposition, `${P}tool_calls_total`, { model: 'm', endpoint: 'chat_completions', outcome: 'ok' })).toBe(3);
    expect(sumOf(exposition, `${P}tool_calls_total`, { outcome: 'unknown_tool' })).toBe(1);
    expect(hasSample(exposition, `${P}tool_calls_total`, { outcome: 'invalid_arguments' })).toBe(false);
  });

  it("counts the usage's reasoning tokens whenever known, and its cached prompt tokens as the schema's input lengths are", async () => {
    const usage = {
      prompt_tokens: 100,
      completion_tokens: 40,
      prompt_tokens_details: { cached_tokens: 64 },
      completion_tokens_details: { reasoning_tokens: 30 },
    };
    for (const [schema, prefix, cachedOfBoth] of [
      ['dynamo-0.2.1', P, 64],
      ['dynamo-frontend', 'dynamo_frontend_', 128],
    ] as const) {
      const { metrics, text } = serviceWith({ schema });
      for (const ok of [true, false]) {
        const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
        guard.recordUsage(usage);
        if (ok) {
          guard.markOk();
        }
        guard.finish();
      }
      const exposition = await text();
      expect(valueOf(exposition, `${prefix}reasoning_tokens_total`, { model: 'm' })).toBe(60);
      expect(valueOf(exposition, `${prefix}cached_prompt_tokens_total`, { model: 'm' })).toBe(cachedOfBoth);
      // The hit ratio's two terms agree: the input lengths are counted as the cached tokens are.
      expect(valueOf(exposition, `${prefix}input_sequence_tokens_sum`, { model: 'm' })).toBe(cachedOfBoth === 64 ? 100 : 200);
    }
  });

  it('has no reasoning or cache series for a model whose usage never told them', async () => {
    const { metrics, text } = serviceWith();
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    guard.recordUsage({ prompt_tokens: 3, completion_tokens: 4 });
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(hasSample(exposition, `${P}reasoning_tokens_total`)).toBe(false);
    expect(hasSample(exposition, `${P}cached_prompt_tokens_total`)).toBe(false);
  });

  it('carries the request labels on the answer counters by default, not on the histogram', async () => {
    const { metrics, text } = serviceWith({ labels: { tenant: { from: (source) => (source as { tenant: string }).tenant } } });
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true, { tenant: 'acme' });
    guard.recordOutput(1);
    guard.recordFinishReason('length');
    guard.recordToolCall(ToolCallOutcome.Ok);
    guard.recordUsage({ prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } });
    guard.markOk();
    guard.finish();
    const exposition = await text();
    for (const name of ['finish_reasons_total', 'tool_calls_total', 'reasoning_tokens_total', 'cached_prompt_tokens_total']) {
      expect(sumOf(exposition, `${P}${name}`, { model: 'm', tenant: 'acme' })).toBeGreaterThan(0);
    }
    expect(exposition).toContain(`${P}time_to_first_content_token_seconds_count{model="m"} 1`);
  });
});

describe('the answerMetrics option', () => {
  const names = (options: LlmMetricsServiceOptions) =>
    new LlmMetricsService(undefined, options).metricNames.filter(
      (name) =>
        !/_(requests_total|inflight_requests|request_duration_seconds|time_to_first_token_seconds|inter_token_latency_seconds|input_sequence_tokens|output_sequence_tokens)$/.test(
          name,
        ),
    );

  it('has the counters on by default, not the histogram; true turns all on, false all off', () => {
    expect(names({})).toEqual([
      `${P}finish_reasons_total`,
      `${P}tool_calls_total`,
      `${P}reasoning_tokens_total`,
      `${P}cached_prompt_tokens_total`,
    ]);
    expect(names({ answerMetrics: true })).toEqual([
      `${P}finish_reasons_total`,
      `${P}tool_calls_total`,
      `${P}time_to_first_content_token_seconds`,
      `${P}reasoning_tokens_total`,
      `${P}cached_prompt_tokens_total`,
    ]);
    expect(names({ answerMetrics: false })).toEqual([]);
  });

  it('turns each on or off, the others at their defaults', () => {
    expect(names({ answerMetrics: { toolCalls: false, timeToFirstContentToken: true } })).toEqual([
      `${P}finish_reasons_total`,
      `${P}time_to_first_content_token_seconds`,
      `${P}reasoning_tokens_total`,
      `${P}cached_prompt_tokens_total`,
    ]);
  });

  it('leaves the series of both schemas as they were when off', () => {
    for (const schema of ['dynamo-0.2.1', 'dynamo-frontend'] as const) {
      expect(
        new LlmMetricsService(undefined, { schema, answerMetrics: false }).metricNames.some((name) =>
          /finish|tool_calls|reasoning|cached_prompt|content_token/.test(name),
        ),
      ).toBe(false);
    }
  });

  it.each([
    [
      { answerMetrics: 'yes' },
      'option "answerMetrics" must be a boolean or an object of booleans { finishReasons?, toolCalls?, reasoningTokens?, cachedTokens?, timeToFirstContentToken? }, got "yes"',
    ],
    [{ answerMetrics: { finishReason: true } }, 'unknown option "answerMetrics.finishReason": did you mean "finishReasons"?'],
    [{ answerMetrics: { toolCalls: 1 } }, 'option "answerMetrics.toolCalls" must be a boolean, got 1'],
  ])('refuses %j, naming the option', (options, message) => {
    expect(() => new LlmMetricsService(undefined, options as LlmMetricsServiceOptions)).toThrow(`nestjs-llm-metrics: ${message}`);
  });

  it('refuses a request label named finish_reason or outcome', () => {
    for (const name of ['finish_reason', 'outcome']) {
      expect(() => new LlmMetricsService(undefined, { labels: { [name]: { from: () => 'x' } } })).toThrow(/keyed by names other than/);
    }
  });
});
