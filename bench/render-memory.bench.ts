import { Registry } from 'prom-client';
import { ExpositionBuffers } from '../src/exposition/exposition-writer.js';
import { renderStoreAndRegistry } from '../src/exposition/registry-exposition.js';
import { LlmMetricsService } from '../src/index.js';
import { ENDPOINTS, requestEveryLabelSet } from './support/traffic.js';
import { fmt, heading, line } from './support/rounds.js';

function memory(): { heap: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed / 1e6, external: arrayBuffers / 1e6 };
}

/** What the rendered label sets of `models` models cost: memory after the first render of the text format, less before it. */
export async function renderMemory(models: number) {
  heading(`Memory of the rendered label sets (${models} models × ${ENDPOINTS.length} endpoints × 2 request types × 2 statuses; after GC)`);
  const registry = new Registry();
  const service = new LlmMetricsService('nv_llm', { maxModels: models });
  service.register(registry);
  requestEveryLabelSet(service, models);
  const buffers = new ExpositionBuffers();
  // The buffers of one exposition are kept for the next: made before, so that they are not counted as label sets.
  buffers.giveBack(await renderStoreAndRegistry(registry, service.store, 'openmetrics', { buffers }));
  for (const family of service.store.families) {
    for (const series of family.series()) {
      series.rendered = undefined;
    }
  }
  const before = memory();
  buffers.giveBack(await renderStoreAndRegistry(registry, service.store, 'text', { buffers }));
  const after = memory();
  line(
    `- heap: ${fmt(before.heap, 1)} MB → ${fmt(after.heap, 1)} MB (Δ ${fmt(after.heap - before.heap, 2)} MB, target ≤ 5); ` +
      `array buffers (the label bytes): Δ ${fmt(after.external - before.external, 2)} MB`,
  );
}
