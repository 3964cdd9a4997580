import { jest } from '@jest/globals';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as current from 'prom-client';
import * as v15_0_0 from 'prom-client-15.0.0';
import * as v15_1_0 from 'prom-client-15.1.0';
import * as v15_1_1 from 'prom-client-15.1.1';
import * as v15_1_2 from 'prom-client-15.1.2';
import { PromClientViews } from '../../src/exposition/prom-client-view.js';
import { renderStoreAndRegistry } from '../../src/exposition/registry-exposition.js';
import { Endpoint, ErrorType, LlmMetricsService } from '../../src/index.js';
import { CounterFamily, GaugeFamily, HistogramFamily } from '../../src/store/metric-family.js';
import { MetricStore } from '../../src/store/metric-store.js';

/*
 * The contract between the store's views and prom-client (docs/design.md,
 * "One store, many views"): a registry of every prom-client version the peer
 * range allows treats the objects `register()` adds exactly as it treats its
 * own Counter, Gauge and Histogram holding the same data, in text and
 * OpenMetrics (exemplars included), JSON, cluster aggregation, reset and the
 * Pushgateway.
 */

type PromClient = typeof current;
const VERSIONS: [string, PromClient][] = [
  [`${'15.1.3'} (the dev dependency)`, current],
  ['15.0.0', v15_0_0 as unknown as PromClient],
  ['15.1.0', v15_1_0 as unknown as PromClient],
  ['15.1.1', v15_1_1 as unknown as PromClient],
  ['15.1.2', v15_1_2 as unknown as PromClient],
];

const TRACE = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
const BOUNDS = [0.1, 1, 10];

/** The same data in the store (read through its views) and in prom-client's own metrics of one version. */
function twins(client: PromClient, contentType: current.RegistryContentType = client.Registry.PROMETHEUS_CONTENT_TYPE) {
  // prom-client's typings give its Registry no constructor arguments; it takes the content type.
  const Registry = client.Registry as unknown as new (
    contentType: current.RegistryContentType,
  ) => current.Registry<current.RegistryContentType>;
  const ours = new Registry(contentType);
  const theirs = new Registry(contentType);
  const requests = new CounterFamily('app_requests_total', 'Requests "served"\nby \\ the app', ['model', 'status']);
  const inflight = new GaugeFamily('app_inflight', 'In flight', ['model'], () => [
    { labels: { model: 'a' }, value: 2 },
    { labels: { model: 'b"\n' }, value: 0 },
  ]);
  const latency = new HistogramFamily('app_latency_seconds', 'Latency', ['model'], { bounds: BOUNDS, exemplars: true, native: undefined });
  const overflow = new CounterFamily('app_overflow_total', 'Overflow', ['label']);
  overflow.pinnedCounter({ label: 'tenant' });
  const store = new MetricStore([requests, inflight, latency, overflow]);
  new PromClientViews(store).register(ours as unknown as current.Registry);

  const counter = new client.Counter({
    name: 'app_requests_total',
    help: 'Requests "served"\nby \\ the app',
    labelNames: ['model', 'status'],
    registers: [theirs],
  });
  const gauge = new client.Gauge({ name: 'app_inflight', help: 'In flight', labelNames: ['model'], registers: [theirs] });
  const histogram = new client.Histogram({
    name: 'app_latency_seconds',
    help: 'Latency',
    labelNames: ['model'],
    buckets: BOUNDS,
    enableExemplars: true,
    // prom-client refuses exemplars on a classic registry given here; registered below, it renders them in OpenMetrics only.
    registers: [],
  });
  theirs.registerMetric(histogram);
  const overflowCounter = new client.Counter({ name: 'app_overflow_total', help: 'Overflow', labelNames: ['label'], registers: [theirs] });
  overflowCounter.inc({ label: 'tenant' }, 0);
  gauge.set({ model: 'a' }, 2);
  gauge.set({ model: 'b"\n' }, 0);

  const count = (labels: { model: string; status: string }, value: number) => {
    requests.counter(labels).add(value);
    counter.inc(labels, value);
  };
  const observe = (model: string, value: number, traced: boolean) => {
    latency.histogram({ model }).observe(value, 1, traced ? TRACE : undefined);
    // As the library observed prom-client's histograms: through the child, or with the exemplar's labels.
    if (traced) {
      histogram.observe({ labels: { model }, value, exemplarLabels: TRACE as never });
    } else {
      histogram.labels({ model }).observe(value);
    }
  };
  const drive = () => {
    count({ model: 'a', status: 'success' }, 3);
    count({ model: 'b"\n', status: 'error' }, 1);
    observe('a', 0.05, false);
    observe('a', 0.5, true);
    observe('a', 50, true);
    observe('b"\n', 2, false);
  };
  return { ours, theirs, store, drive, resetGauge: () => gauge.reset() };
}

describe.each(VERSIONS)('the store in a prom-client %s registry', (_, client) => {
  beforeAll(() => {
    // Exemplars are stamped with Date.now(): the same instant on both sides.
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'],
      now: 1_760_000_000_789,
    });
  });
  afterAll(() => {
    jest.useRealTimers();
  });

  it("renders as the registry's own metrics in the text format, and the route renders the same", async () => {
    const { ours, theirs, store, drive } = twins(client);
    drive();
    const text = await theirs.metrics();
    expect(await ours.metrics()).toBe(text);
    expect(text).toContain('app_requests_total{model="b\\"\\n",status="error"} 1');
    expect(Buffer.concat(await renderStoreAndRegistry(new current.Registry(), store, 'text')).toString()).toBe(text);
  });

  it('renders as its own metrics in OpenMetrics, exemplars included, and the route renders the same', async () => {
    const { ours, theirs, store, drive } = twins(client, client.Registry.OPENMETRICS_CONTENT_TYPE);
    drive();
    const text = await theirs.metrics();
    expect(await ours.metrics()).toBe(text);
    expect(text).toContain(`# {trace_id="${TRACE.trace_id}",span_id="${TRACE.span_id}"} 50 1760000000.789`);
    expect(text).toContain('# TYPE app_requests counter');
    expect(Buffer.concat(await renderStoreAndRegistry(new current.Registry(), store, 'openmetrics')).toString()).toBe(text);
    // Rendered again: prom-client renamed the counters of both for good, the same way.
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('gives the JSON of its own metrics, and the one metric by name', async () => {
    const { ours, theirs, drive } = twins(client);
    drive();
    ours.setDefaultLabels({ instance: 'x' });
    theirs.setDefaultLabels({ instance: 'x' });
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    expect(await ours.getSingleMetric('app_latency_seconds')!.get()).toEqual(await theirs.getSingleMetric('app_latency_seconds')!.get());
    expect(ours.getMetricsAsArray().map(({ name }) => name)).toEqual(theirs.getMetricsAsArray().map(({ name }) => name));
  });

  it('aggregates across cluster workers as its own metrics do (AggregatorRegistry)', async () => {
    const workers = [twins(client), twins(client)];
    for (const worker of workers) {
      worker.drive();
    }
    workers[1].drive();
    const aggregate = async (side: 'ours' | 'theirs') =>
      client.AggregatorRegistry.aggregate(await Promise.all(workers.map((worker) => worker[side].getMetricsAsJSON()))).metrics();
    const text = await aggregate('theirs');
    expect(await aggregate('ours')).toBe(text);
    expect(text).toContain('app_requests_total{model="a",status="success"} 9');
  });

  it('is reset by resetMetrics() as its own metrics are, in every view', async () => {
    const { ours, theirs, store, drive, resetGauge } = twins(client);
    drive();
    ours.resetMetrics();
    theirs.resetMetrics();
    // A gauge of the store is measured when read; prom-client's own, set by hand, is set again here.
    resetGauge();
    (theirs.getSingleMetric('app_inflight') as current.Gauge).set({ model: 'a' }, 2);
    (theirs.getSingleMetric('app_inflight') as current.Gauge).set({ model: 'b"\n' }, 0);
    // The pinned overflow series is listed again at 0, as the service's collector relisted prom-client's.
    (theirs.getSingleMetric('app_overflow_total') as current.Counter).inc({ label: 'tenant' }, 0);
    const text = await theirs.metrics();
    expect(await ours.metrics()).toBe(text);
    expect(text).not.toContain('app_latency_seconds_bucket');
    expect(Buffer.concat(await renderStoreAndRegistry(new current.Registry(), store, 'text')).toString()).toBe(text);
    drive();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('is pushed to a Pushgateway as its own metrics are', async () => {
    const bodies: string[] = [];
    const server: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { ours, theirs, drive } = twins(client);
      drive();
      await new client.Pushgateway(url, {}, ours).pushAdd({ jobName: 'llm' });
      await new client.Pushgateway(url, {}, theirs).pushAdd({ jobName: 'llm' });
      expect(bodies).toHaveLength(2);
      expect(bodies[0]).toBe(bodies[1]);
      expect(bodies[0]).toContain('app_latency_seconds_count{model="a"} 3');
    } finally {
      server.close();
    }
  });

  it("holds the service's metrics as objects that read its series: traffic after registering shows in every view", async () => {
    const registry = new client.Registry();
    const service = new LlmMetricsService(undefined, { errorType: true });
    service.register(registry as unknown as current.Registry);
    const guard = service.createInflightGuard('m', Endpoint.ChatCompletions, true);
    guard.recordOutput(1);
    guard.markError(ErrorType.Overload);
    guard.finish();
    const text = await registry.metrics();
    expect(text).toContain(
      'nv_llm_http_service_requests_total{model="m",endpoint="chat_completions",request_type="stream",status="error",error_type="overload"} 1',
    );
    expect(Buffer.concat(await renderStoreAndRegistry(new current.Registry(), service.store, 'text')).toString()).toBe(text);
    expect(() => service.register(registry as unknown as current.Registry)).toThrow(/already holds a metric named/);
    service.unregister(registry as unknown as current.Registry);
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});
