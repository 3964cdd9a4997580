import { type CanActivate, Controller, type ExecutionContext, Get, Headers, Injectable, Res, UseGuards } from '@nestjs/common';
import { Registry } from 'prom-client';
import { isObservable, lastValueFrom } from 'rxjs';
import { ExpositionBuffers } from '../exposition/exposition-writer.js';
import { contentTypeFor, expositionFormatFor } from '../exposition/format-negotiation.js';
import { renderOpenMetrics } from '../exposition/openmetrics.js';
import { nativeBucketsIn, renderProtobuf } from '../exposition/protobuf-renderer.js';
import { renderStoreAndRegistry, renderStoreAndRegistryProtobuf } from '../exposition/registry-exposition.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';
import { ENCODE_FAILURE_BODY, type MetricsReply, renderWhileSending, sendChunks } from './scrape-reply.js';

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
 * `RouterModule`), in the format the scraper asks for (`expositionFormatFor`:
 * OpenMetrics, protobuf, or the classic text format), the library's series
 * rendered by the library (`renderRegistry`) when it knows the registry's
 * default labels; 500 `Failed to encode metrics` if the registry cannot be
 * encoded. One per app, however often the module is imported.
 */
@Controller()
@UseGuards(MetricsRouteGuard)
export class LlmMetricsController {
  /** The buffers of the scrapes, reused once a scrape has been sent. */
  private readonly buffers = new ExpositionBuffers();

  constructor(private readonly setup: LlmMetricsSetup) {}

  @Get()
  async scrape(@Headers('accept') accept: string | undefined, @Res() reply: MetricsReply): Promise<void> {
    const { registry, service } = this.setup;
    const format = expositionFormatFor(accept);
    const contentType = contentTypeFor(format, registry.contentType);
    if (format !== 'protobuf' && this.setup.rendersItself) {
      const textFormat = contentType === Registry.OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'text';
      const options = { defaultLabels: this.setup.defaultLabels, buffers: this.buffers };
      await renderWhileSending(
        reply,
        contentType,
        (send) => renderStoreAndRegistry(registry, service.store, textFormat, { ...options, send }),
        (sent) => this.buffers.giveBack(sent),
      );
      return;
    }
    let chunks: Buffer[];
    let pooled = false;
    try {
      if (format === 'protobuf' && this.setup.rendersItself) {
        chunks = await renderStoreAndRegistryProtobuf(registry, service.store, {
          defaultLabels: this.setup.defaultLabels,
          buffers: this.buffers,
        });
        pooled = true;
      } else if (format === 'protobuf') {
        const bytes = await renderProtobuf(registry, nativeBucketsIn(service.store));
        chunks = [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
      } else {
        chunks = [Buffer.from(contentType === registry.contentType ? await registry.metrics() : await renderOpenMetrics(registry), 'utf8')];
      }
    } catch {
      reply.status(500).header('Content-Type', 'text/plain; charset=utf-8').send(ENCODE_FAILURE_BODY);
      return;
    }
    sendChunks(reply, contentType, chunks, () => pooled && this.buffers.giveBack(chunks));
  }
}
