import { ROOT_CONTEXT, type SpanContext, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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

/**
 * Registers a real tracer provider and context manager globally, and starts
 * a span around each request `server` handles, active while the request is
 * handled, as `@opentelemetry/instrumentation-http` does (it patches `emit`
 * of the server and binds the request and the response to the span's
 * context). Returns the spans started, in order, and `disable()`, which
 * unregisters all of it.
 */
export function traceEveryRequest(server: Server): { spans: SpanContext[]; disable(): void } {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  const tracer = trace.getTracer('test-http-server');
  const spans: SpanContext[] = [];
  const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request') {
      return emit.call(this, event, ...args);
    }
    const [request, response] = args as [IncomingMessage, ServerResponse];
    const span = tracer.startSpan('POST');
    spans.push(span.spanContext());
    const active = trace.setSpan(ROOT_CONTEXT, span);
    context.bind(active, request);
    context.bind(active, response);
    response.once('finish', () => span.end());
    return context.with(active, () => emit.call(this, event, ...args));
  } as Server['emit'];
  return {
    spans,
    disable: () => {
      server.emit = emit as Server['emit'];
      trace.disable();
      context.disable();
    },
  };
}
