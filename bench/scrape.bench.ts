import { Registry } from 'prom-client';
import { Endpoint, ErrorType, LlmMetricsService } from '../src/index.js';
import { fmt, heading, line, summarize } from './support/rounds.js';

const ENDPOINTS = [Endpoint.Completions, Endpoint.ChatCompletions, Endpoint.Embeddings, Endpoint.Responses];

/** Time to render the exposition with `models` models × every endpoint, request type and status. */
export async function scrapeCost(sizes: number[], renders: number) {
  heading(`Scrape cost: registry.metrics() with N models × ${ENDPOINTS.length} endpoints × 2 request types × 2 statuses (${renders} renders each)`);
  const perModel: number[] = [];
  for (const models of sizes) {
    const registry = new Registry();
    const service = new LlmMetricsService('nv_llm', { maxModels: models });
    service.register(registry);
    for (let m = 0; m < models; m++) {
      for (const endpoint of ENDPOINTS) {
        for (const streaming of [false, true]) {
          for (const ok of [false, true]) {
            const guard = service.createInflightGuard(`model-${m}`, endpoint, streaming);
            guard.recordOutput(1);
            guard.recordOutput(1);
            guard.recordUsage({ prompt_tokens: 10, completion_tokens: 2 });
            if (ok) {
              guard.markOk();
            } else {
              guard.markError(ErrorType.Internal);
            }
            guard.finish();
          }
        }
      }
    }
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < renders; i++) {
      const start = process.hrtime.bigint();
      bytes = (await registry.metrics()).length;
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const { median, min, max } = summarize(times);
    perModel.push(median / models);
    line(`- ${String(models).padStart(6)} models: ${fmt(median, 1)} ms [${fmt(min, 1)}–${fmt(max, 1)}], ${fmt(bytes / 1e6, 1)} MB, ${fmt((median / models) * 1000, 1)} µs per model`);
  }
  line(`- µs per model, largest ÷ smallest size: ${fmt(perModel[perModel.length - 1] / perModel[0], 2)} (1.0 = linear growth)`);
}
