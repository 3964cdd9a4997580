import { AggregatorRegistry, Registry } from 'prom-client';
import { Endpoint, LlmMetricsService, type LlmMetricsServiceOptions } from '../../src/index.js';
import { hasSample, samplesOf, sumOf, valueOf } from '../support/exposition.js';
import { testMeterProvider } from '../support/opentelemetry.js';

/** A clock the test moves by hand, in milliseconds. */
class ManualClock {
  now = 1000;
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

const P = 'nv_llm_http_service_';
const SLO = `${P}slo_requests_total`;

function serviceWith(options: LlmMetricsServiceOptions, prefix?: string) {
  const clock = new ManualClock();
  const registry = new Registry();
  const metrics = new LlmMetricsService(prefix, { clock: clock.read, ...options });
  metrics.register(registry);
  return { clock, registry, metrics, text: () => registry.metrics() };
}

/** The objectives counted for `model`, as `slo outcome value` lines. */
async function objectivesOf(text: () => Promise<string>, model: string, name = SLO): Promise<string[]> {
  return samplesOf(await text(), name, { model })
    .map(({ labels, value }) => `${labels.endpoint} ${labels.slo} ${labels.outcome} ${value}`)
    .sort();
}

const CHAT = { timeToFirstToken: 0.5, timePerOutputToken: 0.05, duration: 10 };

describe('service-level objectives', () => {
  it('counts a stream once per objective, met or missed exactly at the target, and all of them', async () => {
    const { clock, metrics, text } = serviceWith({ slo: { chat_completions: CHAT } });
    // Met: first token at 0.5 s exactly, 11 tokens in 1 s more: 0.1 s a token after the first… missed.
    const a = metrics.createInflightGuard('a', Endpoint.ChatCompletions, true);
    clock.advance(500);
    a.recordOutput(1);
    clock.advance(1000);
    a.recordOutput(10);
    a.markOk();
    a.finish();
    // All met: 0.2 s to the first token, then 41 tokens in 2 s: 0.05 s a token, exactly.
    const b = metrics.createInflightGuard('a', Endpoint.ChatCompletions, true);
    clock.advance(200);
    b.recordOutput(1);
    clock.advance(2000);
    b.recordOutput(40);
    b.recordUsage({ completion_tokens: 41 });
    b.markOk();
    b.finish();
    expect(await objectivesOf(text, 'a')).toEqual([
      'chat_completions all met 1',
      'chat_completions all missed 1',
      'chat_completions duration met 2',
      'chat_completions time_per_output_token met 1',
      'chat_completions time_per_output_token missed 1',
      'chat_completions time_to_first_token met 2',
    ]);
    // The good output tokens: those of the request that met them all.
    expect(valueOf(await text(), `${P}goodput_tokens_total`, { model: 'a' })).toBe(41);
  });

  it("tells the request's time to first token once its first output went out, as the handler can read it", () => {
    const { clock, metrics } = serviceWith({});
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(250);
    expect(guard.timeToFirstTokenSeconds).toBeUndefined();
    guard.recordOutput(1);
    clock.advance(100);
    guard.recordOutput(1);
    expect(guard.timeToFirstTokenSeconds).toBe(0.25);
    expect(guard.elapsedSeconds()).toBe(0.35);
    guard.finish();
  });

  it('judges only what is known: a unary request by its duration, a stream of one token without a time per output token', async () => {
    const { clock, metrics, text } = serviceWith({ slo: { chat_completions: CHAT } });
    const unary = metrics.createInflightGuard('u', Endpoint.ChatCompletions, false);
    clock.advance(11_000);
    unary.recordUsage({ completion_tokens: 5 });
    unary.markOk();
    unary.finish();
    const single = metrics.createInflightGuard('s', Endpoint.ChatCompletions, true);
    clock.advance(100);
    single.recordOutput(1);
    single.markOk();
    single.finish();
    expect(await objectivesOf(text, 'u')).toEqual(['chat_completions all missed 1', 'chat_completions duration missed 1']);
    expect(await objectivesOf(text, 's')).toEqual([
      'chat_completions all met 1',
      'chat_completions duration met 1',
      'chat_completions time_to_first_token met 1',
    ]);
    expect(hasSample(await text(), `${P}goodput_tokens_total`, { model: 'u' })).toBe(false);
    expect(valueOf(await text(), `${P}goodput_tokens_total`, { model: 's' })).toBe(1);
  });

  it('counts a failed request as missed for all, whatever its values, and its tokens as no goodput', async () => {
    const { clock, metrics, text } = serviceWith({ slo: { chat_completions: CHAT } });
    const failed = metrics.createInflightGuard('f', Endpoint.ChatCompletions, true);
    clock.advance(100);
    failed.recordOutput(1);
    clock.advance(10);
    failed.recordOutput(1);
    failed.finish(); // not markOk(): an error
    expect(await objectivesOf(text, 'f')).toEqual([
      'chat_completions all missed 1',
      'chat_completions duration met 1',
      'chat_completions time_per_output_token met 1',
      'chat_completions time_to_first_token met 1',
    ]);
    expect(hasSample(await text(), `${P}goodput_tokens_total`, { model: 'f' })).toBe(false);
  });

  it('takes the targets of the model over those of its endpoint over the default, objective by objective', async () => {
    const { clock, metrics, text } = serviceWith({
      slo: {
        default: { duration: 1 },
        chat_completions: { timeToFirstToken: 0.5, models: { big: { timeToFirstToken: 2 } } },
      },
    });
    for (const model of ['big', 'small']) {
      const guard = metrics.createInflightGuard(model, Endpoint.ChatCompletions, true);
      clock.advance(1500);
      guard.recordOutput(1);
      guard.markOk();
      guard.finish();
    }
    const embedding = metrics.createInflightGuard('small', Endpoint.Embeddings, false);
    clock.advance(500);
    embedding.markOk();
    embedding.finish();
    expect(await objectivesOf(text, 'big')).toEqual([
      'chat_completions all missed 1',
      'chat_completions duration missed 1',
      'chat_completions time_to_first_token met 1',
    ]);
    expect(await objectivesOf(text, 'small')).toEqual([
      'chat_completions all missed 1',
      'chat_completions duration missed 1',
      'chat_completions time_to_first_token missed 1',
      'embeddings all met 1',
      'embeddings duration met 1',
    ]);
  });

  it('counts nothing for an endpoint without targets, and has no SLO series at all without the option', async () => {
    const { metrics, text } = serviceWith({ slo: { embeddings: { duration: 0.2 } } });
    const chat = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    chat.markOk();
    chat.finish();
    expect(sumOf(await text(), SLO)).toBe(0);
    expect(await text()).toContain(`# TYPE ${SLO} counter`);
    const plain = serviceWith({});
    expect(await plain.text()).not.toMatch(/slo_requests_total|goodput_tokens_total/);
  });

  it('adds every target as a bucket bound of the histogram of its measurement, so that its buckets agree with the counters', async () => {
    const { clock, metrics, text } = serviceWith({
      slo: {
        default: { duration: 30 },
        chat_completions: { timeToFirstToken: 0.3, timePerOutputToken: 0.04, models: { m: { duration: 3 } } },
      },
      buckets: { requestDuration: [1, 10, 30, 100] },
    });
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(300);
    guard.recordOutput(1);
    clock.advance(40);
    guard.recordOutput(1);
    guard.markOk();
    guard.finish();
    const exposition = await text();
    const bounds = (name: string) => samplesOf(exposition, `${P}${name}_bucket`, { model: 'm' }).map(({ labels }) => labels.le);
    expect(bounds('request_duration_seconds')).toEqual(['1', '3', '10', '30', '100', '+Inf']);
    expect(bounds('time_to_first_token_seconds')).toContain('0.3');
    expect(bounds('inter_token_latency_seconds')).toContain('0.04');
    // The request at 0.3 s exactly: in the bucket le="0.3", and met in the counter.
    expect(valueOf(exposition, `${P}time_to_first_token_seconds_bucket`, { model: 'm', le: '0.3' })).toBe(1);
    expect(valueOf(exposition, SLO, { model: 'm', endpoint: 'chat_completions', slo: 'time_to_first_token', outcome: 'met' })).toBe(1);
  });

  it('names the same counters in the dynamo-frontend schema, with the request labels they carry', async () => {
    const { metrics, text } = serviceWith({
      schema: 'dynamo-frontend',
      slo: { default: { duration: 60 } },
      labels: { tenant: { from: (source) => (source as { tenant?: string }).tenant } },
    });
    const guard = metrics.createInflightGuard('m', Endpoint.Completions, false, { tenant: 'acme' });
    guard.recordUsage({ completion_tokens: 7 });
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(
      valueOf(exposition, 'dynamo_frontend_slo_requests_total', {
        model: 'm',
        endpoint: 'completions',
        slo: 'all',
        outcome: 'met',
        tenant: 'acme',
      }),
    ).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_goodput_tokens_total', { model: 'm', tenant: 'acme' })).toBe(7);
    expect(exposition).toContain(
      '# HELP dynamo_frontend_slo_requests_total Total number of LLM requests by whether they met each service-level objective\n',
    );
  });

  it('takes the targets of the tier a request asks for, and ignores a tier no target names, however many are sent', async () => {
    const { clock, metrics, text } = serviceWith({
      slo: { default: { duration: 1, tiers: { batch: { duration: 600 } } }, chat_completions: { tiers: { premium: { duration: 0.1 } } } },
      sloTierFrom: (source) => (source as { tier?: unknown }).tier,
    });
    const send = (endpoint: string, tier: unknown) => {
      const guard = metrics.createInflightGuard('m', endpoint, false, { tier });
      clock.advance(500);
      guard.markOk();
      guard.finish();
    };
    send('chat_completions', 'premium'); // 0.5 s > 0.1 s: missed
    send('chat_completions', 'batch'); // the default's tier: 600 s, met
    send('embeddings', 'premium'); // premium is chat's only: the default's 1 s, met
    for (let i = 0; i < 1000; i++) {
      send('chat_completions', `made-up-${i}`); // no such tier: the default's 1 s, met
    }
    send('chat_completions', { toString: () => 'premium' }); // not a string: no tier
    expect(await objectivesOf(text, 'm')).toEqual([
      'chat_completions all met 1002',
      'chat_completions all missed 1',
      'chat_completions duration met 1002',
      'chat_completions duration missed 1',
      'embeddings all met 1',
      'embeddings duration met 1',
    ]);
    const thrower = serviceWith({
      slo: { default: { duration: 1, tiers: { batch: { duration: 600 } } } },
      sloTierFrom: () => {
        throw new Error('no claim');
      },
    });
    const guard = thrower.metrics.createInflightGuard('m', 'chat_completions', false, {});
    guard.markOk();
    guard.finish();
    expect(await objectivesOf(thrower.text, 'm')).toEqual(['chat_completions all met 1', 'chat_completions duration met 1']);
  });

  it('records the same counts through OpenTelemetry, as counters of their own with the objective and outcome as attributes', async () => {
    const { meterProvider, reader } = testMeterProvider();
    const { clock, metrics, text } = serviceWith({
      slo: { chat_completions: { timeToFirstToken: 0.5, duration: 10 } },
      openTelemetry: { meterProvider },
    });
    for (const ttft of [200, 800]) {
      const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
      clock.advance(ttft);
      guard.recordOutput(1);
      guard.recordUsage({ completion_tokens: 9 });
      guard.markOk();
      guard.finish();
    }
    const recorded = await reader.metrics();
    const points = (name: string) =>
      (recorded.get(name)?.dataPoints ?? []).map(({ attributes, value }) => ({ attributes: { ...attributes }, value }));
    const base = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'm' };
    const counted = points('nestjs_llm_metrics.slo.requests')
      .map(({ attributes, value }) => `${attributes['slo.objective']} ${attributes['slo.outcome']} ${value}`)
      .sort();
    expect(counted).toEqual(['all met 1', 'all missed 1', 'duration met 2', 'time_to_first_token met 1', 'time_to_first_token missed 1']);
    expect(await objectivesOf(text, 'm')).toEqual(counted.map((line) => `chat_completions ${line}`));
    expect(points('nestjs_llm_metrics.goodput.tokens')).toEqual([{ attributes: base, value: 9 }]);
    expect(recorded.get('nestjs_llm_metrics.slo.requests')?.descriptor.unit).toBe('{request}');
  });

  it("adds up across workers in prom-client's cluster aggregation, as the route of the primary serves it", async () => {
    const workers = [0, 1].map(() => serviceWith({ slo: { default: { duration: 1 } } }));
    for (const [index, { clock, metrics }] of workers.entries()) {
      for (let i = 0; i <= index; i++) {
        const guard = metrics.createInflightGuard('m', Endpoint.Completions, false);
        clock.advance(100);
        guard.recordUsage({ completion_tokens: 4 });
        guard.markOk();
        guard.finish();
      }
    }
    const aggregated = AggregatorRegistry.aggregate(await Promise.all(workers.map(({ registry }) => registry.getMetricsAsJSON())));
    const exposition = await aggregated.metrics();
    expect(valueOf(exposition, SLO, { model: 'm', endpoint: 'completions', slo: 'all', outcome: 'met' })).toBe(3);
    expect(valueOf(exposition, `${P}goodput_tokens_total`, { model: 'm' })).toBe(12);
  });

  it.each([
    [
      { slo: { default: { duration: 1 } }, sloTierFrom: 'x-tier' },
      'option "sloTierFrom" must be a function (request) => tier, got "x-tier"',
    ],
    [
      { slo: { chat_completions: { tiers: { gold: { duration: 'fast' } } } } },
      'option "slo.chat_completions.tiers.gold.duration" must be a positive number of seconds, got "fast"',
    ],
    [{ slo: 'fast' }, 'option "slo" must be an object of targets by endpoint (and `default`), got "fast"'],
    [{ slo: { chat_completions: { duration: 0 } } }, 'option "slo.chat_completions.duration" must be a positive number of seconds, got 0'],
    [
      { slo: { chat_completions: { duration: Number.NaN } } },
      'option "slo.chat_completions.duration" must be a positive number of seconds, got NaN',
    ],
    [{ slo: { chat_completions: { ttft: 1 } } }, 'unknown option "slo.chat_completions.ttft"'],
    [{ slo: { chatCompletions: { duration: 1 } } }, 'unknown endpoint "slo.chatCompletions": did you mean "chat_completions"?'],
    [{ slo: { 'Bad Name': { duration: 1 } } }, 'unknown endpoint "slo.Bad Name": an endpoint name matches'],
    [{ slo: { default: { duration: 1, models: {} } } }, 'unknown option "slo.default.models"'],
    [
      { slo: { embeddings: { models: { m: { timeToFirstToken: -1 } } } } },
      'option "slo.embeddings.models.m.timeToFirstToken" must be a positive number of seconds, got -1',
    ],
  ])('refuses %j at start-up, naming the option', (options, message) => {
    expect(() => new LlmMetricsService(undefined, options as LlmMetricsServiceOptions)).toThrow(message);
  });
});
