import { type CanActivate, Controller, type ExecutionContext, Get, Headers, Injectable, Res, UseGuards } from '@nestjs/common';
import { Registry } from 'prom-client';
import { isObservable, lastValueFrom } from 'rxjs';
import { renderOpenMetrics } from '../core/openmetrics.js';
import { PROTOBUF_EXPOSITION_CONTENT_TYPE, renderProtobuf } from '../core/protobuf-exposition.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';

/** The part of an Express response or a Fastify reply the metrics route uses. */
interface MetricsReply {
  status(code: number): MetricsReply;
  header(name: string, value: string): MetricsReply;
  send(body: string | Buffer): unknown;
}

/** Body of the 500 answer when the registry cannot be encoded (as in Dynamo). */
export const ENCODE_FAILURE_BODY = 'Failed to encode metrics';

/** The exposition formats the route serves. */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/** The format a media range of an `Accept` header names, and its quality. */
function mediaRange(range: string): { format: ExpositionFormat | undefined; quality: number } {
  const [mediaType, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
  const param = (name: string) => params.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
  const q = Number(param('q') ?? 1);
  const quality = Number.isFinite(q) ? q : 0;
  if (mediaType === 'application/openmetrics-text') {
    return { format: 'openmetrics', quality };
  }
  if (mediaType === 'application/vnd.google.protobuf') {
    return { format: param('proto') === 'io.prometheus.client.metricfamily' && param('encoding') === 'delimited' ? 'protobuf' : undefined, quality };
  }
  return { format: ['text/plain', 'text/*', '*/*'].includes(mediaType) ? 'text' : undefined, quality };
}

/**
 * The format to answer a scraper's `Accept` header with: OpenMetrics when it
 * asks for it (without `q=0`), as Prometheus does; the delimited protobuf
 * format when it asks for that (Prometheus run with native histograms) at a
 * quality no lower than the other formats'; the classic text format otherwise.
 */
export function expositionFormatFor(accept: string | string[] | undefined): ExpositionFormat {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  let best = { format: 'text' as ExpositionFormat, quality: 0 };
  let openMetrics = false;
  for (const range of header.split(',')) {
    const { format, quality } = mediaRange(range);
    if (format !== undefined && quality > 0) {
      openMetrics ||= format === 'openmetrics';
      if (quality > best.quality || (quality === best.quality && format === 'protobuf')) {
        best = { format, quality };
      }
    }
  }
  return best.format === 'protobuf' ? 'protobuf' : openMetrics ? 'openmetrics' : 'text';
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
    const { registry, service } = this.setup;
    const format = expositionFormatFor(accept);
    // A registry renders its own format; a classic one is also rendered as OpenMetrics for scrapers that ask.
    const contentType =
      format === 'protobuf' ? PROTOBUF_EXPOSITION_CONTENT_TYPE : format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : registry.contentType;
    let body: string | Buffer;
    try {
      if (format === 'protobuf') {
        const bytes = await renderProtobuf(registry, (name, labels) => service.nativeBuckets(name, labels));
        body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } else {
        body = contentType === registry.contentType ? await registry.metrics() : await renderOpenMetrics(registry);
      }
    } catch {
      reply.status(500).header('Content-Type', 'text/plain; charset=utf-8').send(ENCODE_FAILURE_BODY);
      return;
    }
    reply.status(200).header('Content-Type', contentType).send(body);
  }
}
