import { type DataPoint, DataPointType, type Histogram, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

/** A reader the test collects from when it wants: the SDK's in-memory view of what was recorded. */
export class TestMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}

  /** The metrics recorded so far, by instrument name. */
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics } = await this.collect();
    return new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
  }
}

/** A MeterProvider of the real SDK, read by a `TestMetricReader`. */
export function testMeterProvider(): { meterProvider: MeterProvider; reader: TestMetricReader } {
  const reader = new TestMetricReader();
  return { meterProvider: new MeterProvider({ readers: [reader] }), reader };
}

/** The histogram data points of `metric` (none if it was not recorded). */
export function histogramPoints(metric: MetricData | undefined): DataPoint<Histogram>[] {
  return metric?.dataPointType === DataPointType.HISTOGRAM ? (metric.dataPoints as DataPoint<Histogram>[]) : [];
}

/** The number of recordings of `metric` whose attributes include `attributes`. */
export function countOf(metric: MetricData | undefined, attributes: Record<string, string> = {}): number {
  return histogramPoints(metric)
    .filter((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
    .reduce((sum, point) => sum + point.value.count, 0);
}
