import { Registry } from 'prom-client';
import { Endpoint, LlmMetricsService, RequestType, Status } from '../../src/index.js';

describe('InflightGuard', () => {
  let metrics: LlmMetricsService;

  beforeEach(() => {
    metrics = new LlmMetricsService();
    metrics.register(new Registry());
  });

  it('counts one in-flight request from creation until finish', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    expect(await metrics.getInflightCount('m')).toBe(1);
    guard.finish();
    expect(await metrics.getInflightCount('m')).toBe(0);
  });

  it('records an error unless markOk was called', async () => {
    metrics.createInflightGuard('m', Endpoint.Completions, false).finish();
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, RequestType.Unary, Status.Error)).toBe(1);
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, RequestType.Unary, Status.Success)).toBe(0);
  });

  it('records a success after markOk, with the stream request type', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.markOk();
    guard.finish();
    expect(await metrics.getRequestCounter('m', Endpoint.ChatCompletions, RequestType.Stream, Status.Success)).toBe(1);
  });

  it('counts exactly once however often finish is called', async () => {
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    guard.markOk();
    guard.finish();
    guard.finish();
    guard[Symbol.dispose]();
    guard.markError();
    guard.finish();
    expect(await metrics.getRequestCounter('m', Endpoint.ChatCompletions, RequestType.Unary, Status.Success)).toBe(1);
    expect(await metrics.getRequestCounter('m', Endpoint.ChatCompletions, RequestType.Unary, Status.Error)).toBe(0);
    expect(await metrics.getInflightCount('m')).toBe(0);
  });

  it('finishes when a `using` block ends, as an error if it throws before markOk', async () => {
    const run = (fail: boolean) => {
      using guard = metrics.createInflightGuard('m', Endpoint.Completions, false);
      if (fail) {
        throw new Error('engine failed');
      }
      guard.markOk();
    };
    run(false);
    expect(() => run(true)).toThrow('engine failed');
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, RequestType.Unary, Status.Success)).toBe(1);
    expect(await metrics.getRequestCounter('m', Endpoint.Completions, RequestType.Unary, Status.Error)).toBe(1);
    expect(await metrics.getInflightCount('m')).toBe(0);
  });

  it('observes the elapsed seconds into the duration histogram of its model', async () => {
    const registry = new Registry();
    const service = new LlmMetricsService('t');
    service.register(registry);
    const guard = service.createInflightGuard('m', Endpoint.Completions, false);
    await new Promise((resolve) => setTimeout(resolve, 30));
    guard.finish();
    const histogram = await registry.getSingleMetric('t_http_service_request_duration_seconds')!.get();
    const sum = histogram.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))!.value;
    const count = histogram.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))!.value;
    expect(count).toBe(1);
    expect(sum).toBeGreaterThanOrEqual(0.025);
    expect(sum).toBeLessThan(5);
  });

  it('keeps models apart', async () => {
    const a = metrics.createInflightGuard('a', Endpoint.Completions, false);
    metrics.createInflightGuard('b', Endpoint.Completions, false);
    a.finish();
    expect(await metrics.getInflightCount('a')).toBe(0);
    expect(await metrics.getInflightCount('b')).toBe(1);
  });
});

describe('InflightGuard.linkTrace, with exemplars on', () => {
  const TRACE = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };

  /** Whether a request took `trace`, and the exemplar label sets of the registry once it finished. */
  async function exemplarsAfter(trace: unknown): Promise<{ linked: boolean; exemplars: unknown[] }> {
    const metrics = new LlmMetricsService('nv_llm', { exemplars: true });
    const registry = new Registry();
    metrics.register(registry);
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, false);
    const linked = guard.linkTrace(trace as typeof TRACE);
    guard.markOk();
    guard.finish();
    const json = (await registry.getMetricsAsJSON()) as unknown as { values: { exemplar?: { labelSet: unknown } | null }[] }[];
    return {
      linked,
      exemplars: json.flatMap((metric) => metric.values.flatMap((value) => (value.exemplar ? [value.exemplar.labelSet] : []))),
    };
  }

  it('puts a copy of a valid trace on the duration sample', async () => {
    const trace = { ...TRACE };
    const {
      linked,
      exemplars: [labelSet],
    } = await exemplarsAfter(trace);
    expect(linked).toBe(true);
    expect(labelSet).toEqual(TRACE);
    expect(labelSet).not.toBe(trace);
  });

  it.each([
    [{ trace_id: TRACE.trace_id.toUpperCase(), span_id: TRACE.span_id }],
    [{ trace_id: TRACE.trace_id, span_id: '0'.repeat(16) }],
    [{ trace_id: `${TRACE.trace_id}"}`, span_id: TRACE.span_id }],
    [{ trace_id: TRACE.trace_id }],
    [undefined],
    [null],
  ])('ignores %j, and says so', async (trace) => {
    expect(await exemplarsAfter(trace)).toEqual({ linked: false, exemplars: [] });
  });
});
