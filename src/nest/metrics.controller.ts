import { type CanActivate, Controller, type ExecutionContext, Get, Headers, Injectable, Res, UseGuards } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { isObservable, lastValueFrom } from 'rxjs';
import { ExpositionBuffers } from '../exposition/exposition-writer.js';
import { contentTypeFor, expositionFormatFor } from '../exposition/format-negotiation.js';
import { renderOpenMetrics } from '../exposition/openmetrics.js';
import { nativeBucketsIn, renderProtobuf } from '../exposition/protobuf-renderer.js';
import { renderStoreAndRegistry, renderStoreAndRegistryProtobuf } from '../exposition/registry-exposition.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';

/** The part of an Express response or a Fastify reply the metrics route uses. */
interface MetricsReply {
  status(code: number): MetricsReply;
  header(name: string, value: string): MetricsReply;
  send(body: string | Buffer | Readable): unknown;
  /** Fastify's reply: the Node.js response. */
  raw?: ServerResponse;
}

/**
 * Sends `chunks` one after the other, so that no buffer of the whole body is
 * ever made: piped into Express's response (a Node.js response), handed as
 * a stream to Fastify's reply. Once all of it was handed to the system,
 * `onSent` is called (not if the client went away first).
 */
function sendChunks(reply: MetricsReply, contentType: string, chunks: readonly Buffer[], onSent: () => unknown): void {
  const length = chunks.reduce((total, chunk) => total + chunk.length, 0);
  reply.status(200).header('Content-Type', contentType).header('Content-Length', String(length));
  const body = Readable.from(chunks, { objectMode: false });
  const response = reply instanceof ServerResponse ? reply : reply.raw;
  response?.once('finish', onSent);
  if (reply instanceof ServerResponse) {
    body.pipe(reply);
  } else {
    reply.send(body);
  }
}

/** Body of the 500 answer when the registry cannot be encoded (as in Dynamo). */
export const ENCODE_FAILURE_BODY = 'Failed to encode metrics';

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
      } else if (this.setup.rendersItself) {
        chunks = await renderStoreAndRegistry(
          registry,
          service.store,
          contentType === Registry.OPENMETRICS_CONTENT_TYPE ? 'openmetrics' : 'text',
          {
            defaultLabels: this.setup.defaultLabels,
            buffers: this.buffers,
          },
        );
        pooled = true;
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
