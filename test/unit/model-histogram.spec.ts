import { AggregatorRegistry, Histogram, type Metric, Registry, type RegistryContentType } from 'prom-client';
import { ModelHistogram } from '../../src/core/model-histogram.js';

const BUCKETS = [0, 0.001, 0.5, 1, 2.5];
const OBSERVATIONS: [string, number][] = [
  ['a', 0],
  ['a', 0.0005],
  ['a', 0.5],
  ['b', 3],
  ['a', 1e9],
  ['b', 2.5],
  ['c"\\\n', 0.7],
];

/** The same observations into prom-client's own histogram and into ours, each in a registry of its own. */
function twins(contentType: RegistryContentType) {
  const theirs = new Registry<RegistryContentType>();
  const ours = new Registry<RegistryContentType>();
  for (const registry of [theirs, ours]) {
    registry.setContentType(contentType);
    registry.setDefaultLabels({ instance: 'x' });
  }
  const reference = new Histogram({ name: 'h', help: 'Help', labelNames: ['model'], buckets: BUCKETS, registers: [theirs] });
  const histogram = new ModelHistogram('h', 'Help', BUCKETS);
  ours.registerMetric(histogram as unknown as Metric<string>);
  for (const [model, value] of OBSERVATIONS) {
    reference.labels(model).observe(value);
    histogram.labels(model).observe(value);
  }
  histogram.labels('never-observed');
  reference.labels('never-observed');
  return { theirs, ours, reference, histogram };
}

describe('ModelHistogram', () => {
  it.each([Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE])('renders exactly as prom-client’s Histogram (%s)', async (contentType) => {
    const { theirs, ours } = twins(contentType);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('gives the same get() and JSON, so AggregatorRegistry merges it the same', async () => {
    const { theirs, ours } = twins(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    const merged = AggregatorRegistry.aggregate([await ours.getMetricsAsJSON(), await ours.getMetricsAsJSON()]);
    const reference = AggregatorRegistry.aggregate([await theirs.getMetricsAsJSON(), await theirs.getMetricsAsJSON()]);
    expect(await merged.metrics()).toBe(await reference.metrics());
  });

  it('forgets every observation on reset, as prom-client does', async () => {
    const { theirs, ours, reference, histogram } = twins(Registry.PROMETHEUS_CONTENT_TYPE);
    reference.reset();
    histogram.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    reference.labels('a').observe(0.2);
    histogram.labels('a').observe(0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses a value that is not a finite number, and records nothing of it', async () => {
    const histogram = new ModelHistogram('h', 'Help', BUCKETS);
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => histogram.labels('a').observe(value)).toThrow(TypeError);
    }
    expect((await histogram.get()).values).toEqual([]);
  });
});
