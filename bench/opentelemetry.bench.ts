import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { type AdapterName, appsPerVariant, timeRoutes, unaryBenchModule } from './support/bench-app.js';
import { heading, line, ratioLine, spread } from './support/rounds.js';

/** Sent with every request of every variant: only the exemplars app reads it. */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * Requests per second of the tracked unary route with the Prometheus metrics
 * alone (off), with the OpenTelemetry GenAI metrics recorded too (the real
 * SDK, exporting once a minute as an OTLP set-up does), and with exemplars:
 * one app each, timed in interleaved rounds, every request in a trace. A
 * second app without either shows the noise of the run.
 */
export async function openTelemetryCost(adapter: AdapterName, rounds: number, perRound: number) {
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 60_000,
      }),
    ],
  });
  const apps = await appsPerVariant(
    {
      off: unaryBenchModule(),
      // The same app again: how far apart two equal variants land in this run.
      again: unaryBenchModule(),
      opentelemetry: unaryBenchModule({ openTelemetry: { meterProvider } }),
      exemplars: unaryBenchModule({ exemplars: true }),
    },
    adapter,
    { traceparent: TRACEPARENT },
  );
  const variants = ['off/tracked', 'again/tracked', 'opentelemetry/tracked', 'exemplars/tracked'] as const;
  const results = await timeRoutes(apps.request, variants, { rounds, perRound, payload: { model: 'bench-model' } });
  await apps.close();
  await meterProvider.shutdown();

  heading(`OpenTelemetry and exemplars, ${adapter} (${rounds} rounds × ${perRound} requests; µs: median [min–max])`);
  for (const variant of variants) {
    line(`- unary ${variant.padEnd(22)} ${spread(results[variant])} µs/request`);
  }
  // µs: rps(variant) / rps(off) = µs(off) / µs(variant).
  ratioLine('unary rps off again ÷ off (control)', results['off/tracked'].samples, results['again/tracked'].samples, '1.0');
  ratioLine('unary rps openTelemetry ÷ off', results['off/tracked'].samples, results['opentelemetry/tracked'].samples, '≥ 0.97');
  ratioLine('unary rps exemplars ÷ off', results['off/tracked'].samples, results['exemplars/tracked'].samples, '≥ 0.97');
}
