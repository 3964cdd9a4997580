import { type CanActivate, Controller, Get, Headers, Inject, Res, type Type, UseGuards } from '@nestjs/common';
import type { Registry, RegistryContentType } from 'prom-client';
import { LLM_METRICS_REGISTRY } from './llm-metrics.constants.js';
import { negotiateContentType, renderExposition } from './metrics-exposition.js';

/** The part of an Express response or a Fastify reply the metrics route uses. */
interface MetricsReply {
  status(code: number): MetricsReply;
  header(name: string, value: string): MetricsReply;
  send(body: string): unknown;
}

/** Body of the 500 answer when the registry cannot be encoded (as in Dynamo). */
export const ENCODE_FAILURE_BODY = 'Failed to encode metrics';

/**
 * A metrics controller serving `GET {path}` behind `guards`, created anew for
 * each module so that two apps with different paths in one process do not
 * share a route.
 */
export function createMetricsController(path: string, guards: (CanActivate | Type<CanActivate>)[] = []): Type<unknown> {
  @Controller()
  @UseGuards(...guards)
  class LlmMetricsController {
    constructor(@Inject(LLM_METRICS_REGISTRY) private readonly registry: Registry<RegistryContentType>) {}

    /**
     * The registry's exposition, as OpenMetrics when the scraper asks for it
     * and in the classic text format otherwise, or 500 `Failed to encode
     * metrics` if it cannot be encoded.
     */
    @Get(path)
    async scrape(@Headers('accept') accept: string | undefined, @Res() reply: MetricsReply): Promise<void> {
      let exposition: { contentType: string; body: string };
      try {
        exposition = await renderExposition(this.registry, negotiateContentType(accept));
      } catch {
        reply.status(500).header('Content-Type', 'text/plain; charset=utf-8').send(ENCODE_FAILURE_BODY);
        return;
      }
      reply.status(200).header('Content-Type', exposition.contentType).send(exposition.body);
    }
  }
  return LlmMetricsController;
}
