import { Endpoint, ErrorType, type LlmMetricsService } from '../../src/index.js';

export const ENDPOINTS = [Endpoint.Completions, Endpoint.ChatCompletions, Endpoint.Embeddings, Endpoint.Responses];

/**
 * One request of every model, endpoint, request type and status, each with
 * two output chunks and a usage: every series of the 0.2.1 schema. `mirror`
 * is told of each, for a second store of the same traffic.
 */
export function requestEveryLabelSet(
  service: LlmMetricsService,
  models: number,
  mirror?: (request: { model: string; endpoint: string; streaming: boolean; ok: boolean }) => void,
): void {
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
          mirror?.({ model: `model-${m}`, endpoint, streaming, ok });
        }
      }
    }
  }
}
