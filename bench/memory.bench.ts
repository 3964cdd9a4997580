import { Registry } from 'prom-client';
import { Endpoint, LlmMetricsService } from '../src/index.js';
import { fmt, heading, line } from './support/rounds.js';

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

/** Heap after many tracked requests over a few models, and after many distinct hostile names. */
export function memory(requests: number, hostileNames: number) {
  heading(
    `Memory (heap used after GC; run with --expose-gc${(globalThis as { gc?: unknown }).gc ? '' : ': NOT AVAILABLE, figures include garbage'})`,
  );
  const registry = new Registry();
  const service = new LlmMetricsService('mem', { maxModels: 100 });
  service.register(registry);
  const run = (count: number, name: (i: number) => string) => {
    for (let i = 0; i < count; i++) {
      const guard = service.createInflightGuard(name(i), Endpoint.ChatCompletions, i % 2 === 0);
      guard.recordOutput(1);
      guard.recordOutput(1);
      guard.recordUsage({ prompt_tokens: 12, completion_tokens: 2 });
      guard.markOk();
      guard.finish();
    }
  };
  run(10_000, (i) => `model-${i % 100}`); // warm-up: every model's series exists
  const before = heapMb();
  run(requests / 2, (i) => `model-${i % 100}`);
  const half = heapMb();
  run(requests / 2, (i) => `model-${i % 100}`);
  const after = heapMb();
  line(
    `- ${requests.toLocaleString('en')} tracked requests over 100 models: ${fmt(before, 1)} MB → ${fmt(half, 1)} MB (half-way) → ${fmt(after, 1)} MB (Δ ${fmt(after - before, 2)} MB)`,
  );
  const hostileBefore = heapMb();
  run(hostileNames, (i) => `hostile-${i}-${'x'.repeat(200)}`);
  const hostileAfter = heapMb();
  line(
    `- ${hostileNames.toLocaleString('en')} distinct hostile model names (maxModels 100): ${fmt(hostileBefore, 1)} MB → ${fmt(hostileAfter, 1)} MB (Δ ${fmt(hostileAfter - hostileBefore, 2)} MB)`,
  );
}
