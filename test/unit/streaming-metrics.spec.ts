import { Registry } from 'prom-client';
import { Endpoint, ErrorType, LlmMetricsService, errorTypeForStatus } from '../../src/index.js';

/** A clock the test moves by hand, in milliseconds. */
class ManualClock {
  now = 1000;
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

interface HistogramReading {
  count: number;
  sum: number;
  buckets: Record<string, number>;
}

async function histogram(registry: Registry, name: string, model = 'm'): Promise<HistogramReading> {
  const metric = await registry.getSingleMetric(`nv_llm_http_service_${name}`)!.get();
  const reading: HistogramReading = { count: 0, sum: 0, buckets: {} };
  for (const value of metric.values) {
    if (value.labels.model !== model) {
      continue;
    }
    const metricName = (value as { metricName?: string }).metricName ?? '';
    if (metricName.endsWith('_count')) {
      reading.count = value.value;
    } else if (metricName.endsWith('_sum')) {
      reading.sum = value.value;
    } else {
      reading.buckets[String(value.labels.le)] = value.value;
    }
  }
  return reading;
}

describe('streaming metrics of the guard', () => {
  let clock: ManualClock;
  let registry: Registry;
  let metrics: LlmMetricsService;

  beforeEach(() => {
    clock = new ManualClock();
    registry = new Registry();
    metrics = new LlmMetricsService('nv_llm', { clock: clock.read });
    metrics.register(registry);
  });

  it('observes the time to the first output as TTFT, once', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(250);
    guard.recordOutput(1);
    clock.advance(40);
    guard.recordOutput(1);
    guard.markOk();
    guard.finish();
    const ttft = await histogram(registry, 'time_to_first_token_seconds');
    expect(ttft.count).toBe(1);
    expect(ttft.sum).toBeCloseTo(0.25, 9);
    expect(ttft.buckets['0.1']).toBe(0);
    expect(ttft.buckets['0.25']).toBe(1);
  });

  it('observes one ITL per later token: tokens minus one samples of (now - previous) / n', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(100);
    guard.recordOutput(1); // first token: TTFT
    for (let i = 0; i < 4; i++) {
      clock.advance(20);
      guard.recordOutput(1);
    }
    clock.advance(30);
    guard.recordOutput(3); // a chunk of three tokens: three samples of 10 ms
    guard.markOk();
    guard.finish();
    const itl = await histogram(registry, 'inter_token_latency_seconds');
    expect(itl.count).toBe(4 + 3);
    expect(itl.sum).toBeCloseTo(4 * 0.02 + 3 * 0.01, 9);
    expect(itl.buckets['0.01']).toBe(3);
    expect(itl.buckets['0.02']).toBe(7);
  });

  it('records no TTFT or ITL for a unary request', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.Completions, false);
    clock.advance(10);
    guard.recordOutput(5);
    guard.markOk();
    guard.finish();
    expect((await histogram(registry, 'time_to_first_token_seconds')).count).toBe(0);
    expect((await histogram(registry, 'inter_token_latency_seconds')).count).toBe(0);
  });

  it('records ISL and OSL from usage on success', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    guard.recordUsage({ prompt_tokens: 700, completion_tokens: 42 });
    guard.markOk();
    guard.finish();
    const isl = await histogram(registry, 'input_sequence_tokens');
    const osl = await histogram(registry, 'output_sequence_tokens');
    expect([isl.count, isl.sum, osl.count, osl.sum]).toEqual([1, 700, 1, 42]);
    expect(isl.buckets['500']).toBe(0);
    expect(isl.buckets['1000']).toBe(1);
  });

  it('counts one output token per reported chunk for the OSL of a stream without usage, and no ISL', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    for (let i = 0; i < 7; i++) {
      guard.recordOutput(1);
    }
    guard.markOk();
    guard.finish();
    expect((await histogram(registry, 'output_sequence_tokens')).sum).toBe(7);
    expect((await histogram(registry, 'input_sequence_tokens')).count).toBe(0);
  });

  it('prefers the usage over counted chunks for a stream that has one', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.recordOutput(1);
    guard.recordOutput(1);
    guard.recordUsage({ prompt_tokens: 12, completion_tokens: 9 });
    guard.markOk();
    guard.finish();
    expect((await histogram(registry, 'output_sequence_tokens')).sum).toBe(9);
    expect((await histogram(registry, 'input_sequence_tokens')).sum).toBe(12);
  });

  it('keeps the TTFT and ITL of an abandoned stream, but records no lengths', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    clock.advance(50);
    guard.recordOutput(1);
    clock.advance(10);
    guard.recordOutput(1);
    guard.recordUsage({ prompt_tokens: 5 });
    guard.markError(ErrorType.Cancelled);
    guard.finish();
    expect((await histogram(registry, 'time_to_first_token_seconds')).count).toBe(1);
    expect((await histogram(registry, 'inter_token_latency_seconds')).count).toBe(1);
    expect((await histogram(registry, 'input_sequence_tokens')).count).toBe(0);
    expect((await histogram(registry, 'output_sequence_tokens')).count).toBe(0);
  });

  it('ignores output reported after the guard finished, and nonsense counts', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.recordOutput(0);
    guard.recordOutput(-3);
    guard.recordOutput(Number.NaN);
    guard.markOk();
    guard.finish();
    guard.recordOutput(1);
    expect((await histogram(registry, 'time_to_first_token_seconds')).count).toBe(0);
    expect((await histogram(registry, 'output_sequence_tokens')).sum).toBe(0);
  });

  it('uses configured buckets, and rejects invalid ones naming the option', async () => {
    const custom = new LlmMetricsService('custom', { buckets: { timeToFirstToken: [0.1, 1, 10] } });
    const own = new Registry();
    custom.register(own);
    const guard = custom.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.recordOutput(1);
    guard.finish();
    const text = await own.getSingleMetricAsString('custom_http_service_time_to_first_token_seconds');
    expect(text.match(/le="[^"]+"/g)).toEqual(['le="0.1"', 'le="1"', 'le="10"', 'le="+Inf"']);
    for (const bad of [[], [1, 1], [2, 1], [0, Number.POSITIVE_INFINITY], [0, Number.NaN], ['1']]) {
      expect(() => new LlmMetricsService('x', { buckets: { interTokenLatency: bad as number[] } })).toThrow(
        /option "buckets.interTokenLatency" must be a non-empty array of finite, strictly increasing numbers/,
      );
    }
  });

  it('defines no token metrics with streamingMetrics: false: neither the streaming histograms nor the answer token counters', () => {
    const plain = new Registry();
    new LlmMetricsService('nv_llm', { streamingMetrics: false, answerMetrics: true }).register(plain);
    expect(plain.getMetricsAsArray().map(({ name }) => name)).toEqual([
      'nv_llm_http_service_requests_total',
      'nv_llm_http_service_inflight_requests',
      'nv_llm_http_service_request_duration_seconds',
      'nv_llm_http_service_finish_reasons_total',
      'nv_llm_http_service_tool_calls_total',
    ]);
  });
});

describe('error_type', () => {
  it.each([
    [400, 'validation'],
    [401, 'validation'],
    [422, 'validation'],
    [404, 'not_found'],
    [429, 'overload'],
    [529, 'overload'],
    [500, 'internal'],
    [501, 'not_implemented'],
    [502, 'internal'],
    [503, 'unavailable'],
  ])('maps status %i to %s', (status, errorType) => {
    expect(errorTypeForStatus(status)).toBe(errorType);
  });

  it("labels requests_total with '' on success and the error's type otherwise, when enabled", async () => {
    const registry = new Registry();
    const metrics = new LlmMetricsService('nv_llm', { errorType: true });
    metrics.register(registry);
    const ok = metrics.createInflightGuard('m', Endpoint.Completions, false);
    ok.markOk();
    ok.finish();
    const overloaded = metrics.createInflightGuard('m', Endpoint.Completions, false);
    overloaded.markError(ErrorType.Overload);
    overloaded.finish();
    metrics.createInflightGuard('m', Endpoint.Completions, false).finish();
    const text = await registry.getSingleMetricAsString('nv_llm_http_service_requests_total');
    expect(text).toContain('{model="m",endpoint="completions",request_type="unary",status="success",error_type=""} 1');
    expect(text).toContain('{model="m",endpoint="completions",request_type="unary",status="error",error_type="overload"} 1');
    expect(text).toContain('{model="m",endpoint="completions",request_type="unary",status="error",error_type="internal"} 1');
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, 'unary', 'error')).toBe(2);
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, 'unary', 'error', 'overload')).toBe(1);
  });

  it('is absent by default', async () => {
    const registry = new Registry();
    const metrics = new LlmMetricsService();
    metrics.register(registry);
    metrics.createInflightGuard('m', Endpoint.Completions, false).finish();
    expect(await registry.getSingleMetricAsString('nv_llm_http_service_requests_total')).not.toContain('error_type');
  });
});
