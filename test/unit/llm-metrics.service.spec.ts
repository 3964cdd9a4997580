import { Registry, register as globalRegister } from 'prom-client';
import { Endpoint, LlmMetricsService, REQUEST_DURATION_BUCKETS, RequestType, Status } from '../../src/index.js';

describe('LlmMetricsService', () => {
  it('defines the three 0.2.1 metrics with their exact names, types, labels, help and buckets', async () => {
    const registry = new Registry();
    const metrics = new LlmMetricsService('nv_llm', { streamingMetrics: false, answerMetrics: false });
    metrics.register(registry);
    const guard = metrics.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.markOk();
    guard.finish();
    const json = await registry.getMetricsAsJSON();
    expect(json.map(({ name, type, help }) => ({ name, type, help }))).toEqual([
      { name: 'nv_llm_http_service_requests_total', type: 'counter', help: 'Total number of LLM requests processed' },
      { name: 'nv_llm_http_service_inflight_requests', type: 'gauge', help: 'Number of inflight requests' },
      { name: 'nv_llm_http_service_request_duration_seconds', type: 'histogram', help: 'Duration of LLM requests' },
    ]);
    expect(json[0].values[0].labels).toEqual({
      model: 'm',
      endpoint: 'chat_completions',
      request_type: 'stream',
      status: 'success',
    });
    expect(json[1].values[0].labels).toEqual({ model: 'm' });
    const buckets = json[2].values
      .filter((value) => (value as { metricName?: string }).metricName?.endsWith('_bucket'))
      .map((value) => value.labels.le);
    expect(buckets).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, '+Inf']);
    expect(REQUEST_DURATION_BUCKETS).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });

  it('uses the prefix it is given, for the 0.2.1 metrics, the streaming histograms and the answer metrics', async () => {
    const registry = new Registry();
    new LlmMetricsService('my_app', { answerMetrics: true }).register(registry);
    expect(registry.getMetricsAsArray().map((metric) => metric.name)).toEqual([
      'my_app_http_service_requests_total',
      'my_app_http_service_inflight_requests',
      'my_app_http_service_request_duration_seconds',
      'my_app_http_service_time_to_first_token_seconds',
      'my_app_http_service_inter_token_latency_seconds',
      'my_app_http_service_input_sequence_tokens',
      'my_app_http_service_output_sequence_tokens',
      'my_app_http_service_finish_reasons_total',
      'my_app_http_service_tool_calls_total',
      'my_app_http_service_time_to_first_content_token_seconds',
      'my_app_http_service_reasoning_tokens_total',
      'my_app_http_service_cached_prompt_tokens_total',
    ]);
  });

  it.each(['', '1abc', 'my-app', 'a b', 'ünïcode'])('rejects the invalid prefix %j, naming it', (prefix) => {
    expect(() => new LlmMetricsService(prefix)).toThrow(TypeError);
    expect(() => new LlmMetricsService(prefix)).toThrow(JSON.stringify(prefix));
  });

  it('accepts colons and underscores in the prefix', () => {
    expect(new LlmMetricsService('_a:b_1').prefix).toBe('_a:b_1');
  });

  it('throws a clear error when registered twice into one registry', () => {
    const registry = new Registry();
    const metrics = new LlmMetricsService();
    metrics.register(registry);
    expect(() => metrics.register(registry)).toThrow(/already holds a metric named "nv_llm_http_service_requests_total"/);
  });

  it('throws a clear error when another service already registered the names, and registers nothing', () => {
    const registry = new Registry();
    new LlmMetricsService().register(registry);
    const other = new LlmMetricsService();
    expect(() => other.register(registry)).toThrow(/nv_llm_http_service_requests_total/);
    expect(registry.getMetricsAsArray()).toHaveLength(other.metricNames.length);
  });

  it('does not register into the global registry on construction', () => {
    new LlmMetricsService('not_global');
    expect(globalRegister.getSingleMetric('not_global_http_service_requests_total')).toBeUndefined();
  });

  it('removes its metrics again with unregister', () => {
    const registry = new Registry();
    const metrics = new LlmMetricsService();
    metrics.register(registry);
    metrics.unregister(registry);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    metrics.register(registry);
    expect(registry.getMetricsAsArray()).toHaveLength(11);
  });

  it('reads back 0 for labels it never counted', async () => {
    const metrics = new LlmMetricsService();
    expect(await metrics.getRequestCounter('none', Endpoint.Completions, RequestType.Unary, Status.Success)).toBe(0);
    expect(await metrics.getInflightCount('none')).toBe(0);
  });

  it('records an unusable model as unknown_model', async () => {
    const metrics = new LlmMetricsService();
    metrics.createInflightGuard(undefined, Endpoint.Completions, false).finish();
    metrics.createInflightGuard(42, Endpoint.Completions, false).finish();
    expect(await metrics.getRequestCounter('unknown_model', Endpoint.Completions, RequestType.Unary, Status.Error)).toBe(2);
  });

  it('finishes exactly the requests still in flight, whichever finished before, once each', async () => {
    const service = new LlmMetricsService('open');
    service.register(new Registry());
    const guards = ['a', 'b', 'c', 'd', 'e'].map((model) => service.createInflightGuard(model, Endpoint.ChatCompletions, false));
    for (const index of [0, 2, 4]) {
      guards[index].markOk();
      guards[index].finish();
    }
    expect(service.inflightCount).toBe(2);
    expect(service.finishInflight()).toBe(2);
    expect(service.finishInflight()).toBe(0);
    expect(service.inflightCount).toBe(0);
    const count = (model: string, status: Status) => service.getRequestCounter(model, Endpoint.ChatCompletions, RequestType.Unary, status);
    expect(await Promise.all(['a', 'b', 'c', 'd', 'e'].map((model) => count(model, Status.Success)))).toEqual([1, 0, 1, 0, 1]);
    expect(await Promise.all(['a', 'b', 'c', 'd', 'e'].map((model) => count(model, Status.Error)))).toEqual([0, 1, 0, 1, 0]);
    // A guard finished by the shutdown stays finished.
    guards[1].markOk();
    guards[1].finish();
    expect(await count('b', Status.Success)).toBe(0);
    expect(service.createInflightGuard('f', Endpoint.ChatCompletions, false).model).toBe('f');
    expect(service.finishInflight()).toBe(1);
  });
});
