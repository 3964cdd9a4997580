import { Counter, Gauge, Histogram, type OpenMetricsContentType, Registry, type RegistryContentType, Summary } from 'prom-client';
import { renderOpenMetrics } from '../../src/index.js';
import { parseExposition } from '../support/exposition.js';

/** The same metrics, with the same values, in `registry`: every type, escapes, odd values, exemplars. */
function fill(registry: Registry<RegistryContentType>): void {
  const registers = [registry];
  const requests = new Counter({
    name: 'app_requests_total',
    help: 'Requests \\ with "quotes"\nand a new line',
    labelNames: ['model', 'status'],
    registers,
  });
  requests.inc({ model: 'say "hi"\\\nthere', status: 'success' }, 3);
  requests.inc({ model: 'plain', status: 'error' });
  new Counter({ name: 'app_unsuffixed', help: 'A counter named without _total', registers }).inc(2);
  new Counter({ name: 'app_untouched_total', help: 'Never incremented', labelNames: ['model'], registers });
  const gauge = new Gauge({ name: 'app_inflight', help: 'In flight', labelNames: ['model'], registers });
  gauge.set({ model: 'a' }, Number.NaN);
  gauge.set({ model: 'b' }, Number.POSITIVE_INFINITY);
  gauge.set({ model: 'c' }, Number.NEGATIVE_INFINITY);
  gauge.set({ model: 'd' }, 0.25);
  const duration = new Histogram({
    name: 'app_duration_seconds',
    help: 'Duration',
    labelNames: ['model'],
    buckets: [0, 0.5, 1],
    registers,
  });
  duration.observe({ model: 'a' }, 0.3);
  duration.observe({ model: 'a' }, 2);
  duration.observe({ model: 'b' }, 0);
  new Summary({ name: 'app_sizes', help: 'Sizes', percentiles: [0.5, 0.9], registers }).observe(7);
  // prom-client refuses exemplars in a classic registry when it creates the metric, not when it registers it.
  const traced = new Histogram({ name: 'app_traced_seconds', help: 'With exemplars', buckets: [1], enableExemplars: true, registers: [] });
  traced.observe({ value: 0.5, labels: {}, exemplarLabels: { trace_id: 'abc' } });
  const tracedCount = new Counter({ name: 'app_traced_total', help: 'With exemplars', enableExemplars: true, registers: [] });
  tracedCount.inc({ value: 2, exemplarLabels: { trace_id: 'def' } });
  registry.registerMetric(traced);
  registry.registerMetric(tracedCount);
}

/** A registry created with the OpenMetrics content type (prom-client's typings leave its constructor's argument out). */
function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** Exemplar timestamps are the time of the observation: the same in both registries only by luck. */
function withoutTimestamps(text: string): string {
  return text.replace(/ (\d+(\.\d+)?)$/gm, (match, _value, _fraction, offset: number, whole: string) =>
    whole.lastIndexOf(' # {', offset) > whole.lastIndexOf('\n', offset) ? ' <timestamp>' : match,
  );
}

describe('renderOpenMetrics', () => {
  it('renders a classic registry exactly as prom-client renders the same metrics in an OpenMetrics registry', async () => {
    const classic = new Registry();
    const openMetrics = openMetricsRegistry();
    fill(classic);
    fill(openMetrics);
    const ours = await renderOpenMetrics(classic);
    expect(withoutTimestamps(ours)).toBe(withoutTimestamps(await openMetrics.metrics()));
    expect(ours).toContain('# TYPE app_requests counter\napp_requests_total{model="say \\"hi\\"\\\\\\nthere",status="success"} 3');
  });

  it('leaves the classic registry as it was: its counters keep their names', async () => {
    const classic = new Registry();
    fill(classic);
    const before = await classic.metrics();
    await renderOpenMetrics(classic);
    expect(await classic.metrics()).toBe(before);
    expect(before).toContain('# TYPE app_requests_total counter');
  });

  it('renders the same samples as prom-client with default labels, whose order it may not keep', async () => {
    const classic = new Registry();
    const openMetrics = openMetricsRegistry();
    for (const registry of [classic, openMetrics]) {
      fill(registry);
      registry.setDefaultLabels({ instance: 'replica-a' });
    }
    const sorted = (text: string) =>
      parseExposition(text)
        .map(({ name, labels, value }) => `${name}${JSON.stringify(Object.entries(labels).sort())} ${value}`)
        .sort();
    expect(sorted(withoutExemplars(await renderOpenMetrics(classic)))).toEqual(sorted(withoutExemplars(await openMetrics.metrics())));
  });
});

function withoutExemplars(text: string): string {
  return text.replace(/ # \{.*$/gm, '');
}
