import { type CanActivate, Controller, type ExecutionContext, Get, Headers, Injectable, Res, UseGuards } from '@nestjs/common';
import { Registry } from 'prom-client';
import { isObservable, lastValueFrom } from 'rxjs';
import { renderOpenMetrics } from '../core/openmetrics.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';

/** The part of an Express response or a Fastify reply the metrics route uses. */
interface MetricsReply {
  status(code: number): MetricsReply;
  header(name: string, value: string): MetricsReply;
  send(body: string): unknown;
}

/** Body of the 500 answer when the registry cannot be encoded (as in Dynamo). */
export const ENCODE_FAILURE_BODY = 'Failed to encode metrics';

/**
 * Whether a scraper's `Accept` header asks for OpenMetrics
 * (`application/openmetrics-text`, without `q=0`), as Prometheus does.
 */
export function acceptsOpenMetrics(accept: string | string[] | undefined): boolean {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  return header.split(',').some((range) => {
    const [mediaType, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return mediaType === 'application/openmetrics-text' && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}

/** Lets a scrape through the `guards` option's guards, each in turn, as `@UseGuards()` would. */
@Injectable()
export class MetricsRouteGuard implements CanActivate {
  constructor(private readonly setup: LlmMetricsSetup) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    for (const guard of this.setup.routeGuards) {
      const result = guard.canActivate(context);
      if (!(isObservable(result) ? await lastValueFrom(result) : await result)) {
        return false;
      }
    }
    return true;
  }
}

/**
 * Serves the registry at the module's `path` (mounted there with Nest's
 * `RouterModule`), as OpenMetrics when the scraper asks for it and in the
 * classic text format otherwise; 500 `Failed to encode metrics` if the
 * registry cannot be encoded. One per app, however often the module is imported.
 */
@Controller()
@UseGuards(MetricsRouteGuard)
export class LlmMetricsController {
  constructor(private readonly setup: LlmMetricsSetup) {}

  @Get()
  async scrape(@Headers('accept') accept: string | undefined, @Res() reply: MetricsReply): Promise<void> {
    const registry = this.setup.registry;
    // A registry renders its own format; a classic one is also rendered as OpenMetrics for scrapers that ask.
    const contentType = acceptsOpenMetrics(accept) ? Registry.OPENMETRICS_CONTENT_TYPE : registry.contentType;
    let body: string;
    try {
      body = contentType === registry.contentType ? await registry.metrics() : await renderOpenMetrics(registry);
    } catch {
      reply.status(500).header('Content-Type', 'text/plain; charset=utf-8').send(ENCODE_FAILURE_BODY);
      return;
    }
    reply.status(200).header('Content-Type', contentType).send(body);
  }
}
