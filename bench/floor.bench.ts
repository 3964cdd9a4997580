import { Counter, Gauge, Histogram } from 'prom-client';
import { Bench } from 'tinybench';
import { Endpoint, LlmMetricsService } from '../src/index.js';
import { fmt, heading, line } from './support/rounds.js';

/** The guard's whole work for one request against the bare prom-client calls it makes. */
export async function floor(timeMs: number) {
  const service = new LlmMetricsService('floor');
  const counter = new Counter({
    name: 'bare_requests_total',
    help: 'h',
    labelNames: ['model', 'endpoint', 'request_type', 'status'],
    registers: [],
  });
  const gauge = new Gauge({ name: 'bare_inflight', help: 'h', labelNames: ['model'], registers: [] });
  const histogram = new Histogram({
    name: 'bare_duration',
    help: 'h',
    labelNames: ['model'],
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [],
  });
  const tasks: [string, () => void][] = [
    [
      'guard: createInflightGuard + markOk + finish',
      () => {
        const guard = service.createInflightGuard('model-a', Endpoint.ChatCompletions, false);
        guard.markOk();
        guard.finish();
      },
    ],
    [
      'bare prom-client: labels().inc(), .dec(), .inc(), .observe()',
      () => {
        gauge.labels('model-a').inc();
        gauge.labels('model-a').dec();
        counter.labels('model-a', 'chat_completions', 'unary', 'success').inc();
        histogram.labels('model-a').observe(0.001);
      },
    ],
  ];
  // Three runs of a fresh Bench, alternating which task goes first.
  const hz: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    const bench = new Bench({ time: timeMs, warmup: true, warmupTime: 200 });
    for (const [name, fn] of round % 2 === 0 ? tasks : [...tasks].reverse()) {
      bench.add(name, fn);
    }
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as { throughput?: { mean: number }; hz?: number } | undefined;
      (hz[task.name] ??= []).push(result?.throughput?.mean ?? result?.hz ?? 0);
    }
  }
  heading(`The floor: one request's metric work, in-process (tinybench, ${timeMs} ms × 3 runs; ops/s)`);
  const names = tasks.map(([name]) => name);
  for (const name of names) {
    const values = [...hz[name]].sort((a, b) => a - b);
    line(`- ${name}: ${fmt(values[1] / 1000, 0)}k ops/s [${fmt(values[0] / 1000, 0)}k–${fmt(values[2] / 1000, 0)}k]`);
  }
  const median = (name: string) => [...hz[name]].sort((a, b) => a - b)[1];
  line(`- ops/s guard ÷ bare: ${fmt(median(names[0]) / median(names[1]), 3)} target ≥ 1.0`);
}
