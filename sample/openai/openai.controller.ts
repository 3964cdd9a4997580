import { Body, Controller, Get, Header, HttpCode, Post, Res, StreamableFile, UseGuards } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { Endpoint, type LlmRequestMetrics, RequestMetrics, TrackLlm } from '../../src/index.js';
import { EngineOverloadedError, MockEngineService } from '../engine/mock-engine.service.js';
import { ChatCompletionsService } from './chat-completions.service.js';
import { CompletionsService } from './completions.service.js';
import { EmbeddingsService } from './embeddings.service.js';
import { EngineOverloadedException, openAiErrorBody } from './openai.exceptions.js';
import type { ChatCompletionRequest, EmbeddingList, ModelList, TextCompletion } from './openai.types.js';
import { SSE_DONE_EVENT, formatServerSentEvent, toServerSentEvents } from './server-sent-events.format.js';

/**
 * The OpenAI-compatible API. The two tracked routes stream in two different
 * styles (see also `ChatSseController` for the third one, `@Sse()`):
 * - `POST /v1/chat/completions` writes its events itself through `@Res()`;
 * - `POST /v1/completions` returns a `StreamableFile` that Nest streams.
 * `POST /v1/embeddings` is unary only.
 */
/** What `@Res()` injects: an Express `Response` (a Node.js response) or a Fastify reply (holding one as `raw`). */
type ExpressOrFastifyReply = ServerResponse | { raw: ServerResponse };

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class OpenAiController {
  constructor(
    private readonly engine: MockEngineService,
    private readonly chat: ChatCompletionsService,
    private readonly completions: CompletionsService,
    private readonly embeddings: EmbeddingsService,
  ) {}

  /** The served models (not tracked: it is not an LLM request). */
  @Get('models')
  listModels(): ModelList {
    return {
      object: 'list',
      data: this.engine.listModels().map(({ id, created, ownedBy }) => ({ id, object: 'model', created, owned_by: ownedBy })),
    };
  }

  /**
   * Chat completions, unary or streamed. Streaming style 1: the handler owns
   * the response (`@Res()`) and writes Server-Sent Events by hand, stopping the
   * generation when the client goes away. The request is counted when the
   * response ends: `success` once it is written whole, `error` if it fails or
   * the client disconnects first. When the engine has no room, the handler
   * reports a rejection (`markRejected()`) and answers 529.
   */
  @Post('chat/completions')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  async chatCompletions(
    @Body() body: unknown,
    @Res() reply: ExpressOrFastifyReply,
    @RequestMetrics() metrics: LlmRequestMetrics,
  ): Promise<void> {
    // Thrown before anything is written, so Nest's exception filter still
    // answers, even on a `@Res()` route: 400, 404 for an unknown model, or 529.
    const request = this.chat.parse(body);
    const release = this.admit(metrics);
    // The Node.js response: Express's `Response` is one, Fastify's reply holds one as `raw`.
    const res = 'raw' in reply ? reply.raw : reply;
    const clientGone = new AbortController();
    res.once('close', () => {
      release();
      clientGone.abort();
    });
    try {
      if (request.stream) {
        await this.streamChatCompletion(request, res, clientGone.signal);
      } else {
        const completion = await this.chat.create(request, clientGone.signal);
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(completion));
      }
    } catch (err) {
      if (clientGone.signal.aborted) {
        return; // Nobody is left to answer; the metrics already count the request as an error.
      }
      throw err;
    }
  }

  /**
   * Text completions, unary or streamed. Streaming style 2: the handler
   * returns the events as a stream (`StreamableFile` over a `Readable`), which
   * Nest sends, and destroys if the client goes away, stopping the generator.
   */
  @Post('completions')
  @HttpCode(200)
  @Header('Cache-Control', 'no-cache')
  @TrackLlm(Endpoint.Completions)
  async createCompletion(@Body() body: unknown): Promise<TextCompletion | StreamableFile> {
    const request = this.completions.parse(body);
    if (!request.stream) {
      return this.completions.create(request);
    }
    const events = Readable.from(toServerSentEvents(this.completions.stream(request)));
    return new StreamableFile(events, { type: 'text/event-stream' });
  }

  /** Embeddings: unary JSON whose `usage.prompt_tokens` the metrics record as the input length. */
  @Post('embeddings')
  @HttpCode(200)
  @TrackLlm(Endpoint.Embeddings)
  createEmbeddings(@Body() body: unknown): EmbeddingList {
    return this.embeddings.create(this.embeddings.parse(body));
  }

  /**
   * Takes a slot of the engine for the request.
   * @throws EngineOverloadedException (529) when the engine has none left, once the rejection is reported.
   */
  private admit(metrics: LlmRequestMetrics): () => void {
    try {
      return this.engine.admit();
    } catch (err) {
      if (err instanceof EngineOverloadedError) {
        metrics.markRejected();
        throw new EngineOverloadedException();
      }
      throw err;
    }
  }

  private async streamChatCompletion(request: ChatCompletionRequest, res: ServerResponse, signal: AbortSignal): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    try {
      for await (const chunk of this.chat.stream(request, signal)) {
        await this.write(res, formatServerSentEvent(chunk), signal);
      }
    } catch (err) {
      if (!signal.aborted) {
        // Tell the client before Nest ends the response and the request is counted as an error.
        res.write(formatServerSentEvent(openAiErrorBody('The server had an error while processing your request.', 'server_error')));
      }
      throw err;
    }
    await this.write(res, SSE_DONE_EVENT, signal);
    res.end();
  }

  /** Writes `event`, waiting for a slow client to catch up (backpressure). */
  private async write(res: ServerResponse, event: string, signal: AbortSignal): Promise<void> {
    if (!res.write(event)) {
      await once(res, 'drain', { signal });
    }
  }
}
