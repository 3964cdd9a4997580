import { Body, Controller, Get, Header, HttpCode, HttpException, Post, StreamableFile, UseGuards } from '@nestjs/common';
import OpenAI from 'openai';
import { Readable } from 'node:stream';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { Endpoint, TrackLlm } from '../../src/index.js';
import { body, model } from '../openai/openai-request.validation.js';
import { openAiErrorBody } from '../openai/openai.exceptions.js';
import { SSE_DONE_EVENT, formatServerSentEvent } from '../openai/server-sent-events.format.js';
import { UpstreamClient } from './upstream-client.service.js';

type Fields = Record<string, unknown>;

/** The upstream's error, answered as the upstream answered it (a lost upstream is a 502, one too slow a 504). */
function passOn(err: unknown): never {
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    throw new HttpException(openAiErrorBody('The upstream timed out.', 'server_error'), 504);
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    throw new HttpException(err.error ?? openAiErrorBody(err.message, 'server_error'), err.status);
  }
  if (err instanceof OpenAI.APIError) {
    throw new HttpException(openAiErrorBody('The upstream could not be reached.', 'server_error'), 502);
  }
  throw err;
}

/** A stream of the upstream, passed on as Server-Sent Events as each event arrives; `[DONE]` after chat and text completions. */
async function* serverSentEvents(stream: AsyncIterable<object>, typed: boolean): AsyncGenerator<string> {
  for await (const event of stream) {
    yield typed ? `event: ${(event as { type: string }).type}\ndata: ${JSON.stringify(event)}\n\n` : formatServerSentEvent(event);
  }
  if (!typed) {
    yield SSE_DONE_EVENT;
  }
}

/**
 * The sample as a gateway (`UPSTREAM_URL=…`): the OpenAI API, each request
 * passed to the upstream with the `openai` client and its answer passed
 * back, streams event by event. The routes are tracked as the mock engine's
 * are; the upstream calls they make are recorded with them (their overhead,
 * and their cost at `GATEWAY_PRICES`). A client that goes away stops the
 * stream, which aborts the upstream call.
 */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class GatewayController {
  constructor(private readonly upstream: UpstreamClient) {}

  /** The upstream's models (not tracked: it is not an LLM request). */
  @Get('models')
  async listModels(): Promise<unknown> {
    try {
      const page = await this.upstream.openai.models.list();
      return { object: 'list', data: page.data };
    } catch (err) {
      passOn(err);
    }
  }

  @Post('chat/completions')
  @HttpCode(200)
  @Header('Cache-Control', 'no-cache')
  @TrackLlm(Endpoint.ChatCompletions)
  chatCompletions(@Body() request: unknown): Promise<unknown> {
    return this.relay(request, (params) => this.upstream.openai.chat.completions.create(params as never), false);
  }

  @Post('completions')
  @HttpCode(200)
  @Header('Cache-Control', 'no-cache')
  @TrackLlm(Endpoint.Completions)
  completions(@Body() request: unknown): Promise<unknown> {
    return this.relay(request, (params) => this.upstream.openai.completions.create(params as never), false);
  }

  @Post('responses')
  @HttpCode(200)
  @Header('Cache-Control', 'no-cache')
  @TrackLlm(Endpoint.Responses)
  responses(@Body() request: unknown): Promise<unknown> {
    return this.relay(request, (params) => this.upstream.openai.responses.create(params as never), true);
  }

  @Post('embeddings')
  @HttpCode(200)
  @TrackLlm(Endpoint.Embeddings)
  async embeddings(@Body() request: unknown): Promise<unknown> {
    const params = body(request);
    model(params);
    try {
      // As the client asked: the `openai` client would otherwise ask for base64 and decode it.
      return await this.upstream.openai.embeddings.create({ encoding_format: 'float', ...params } as never);
    } catch (err) {
      passOn(err);
    }
  }

  /**
   * Sends `request` upstream with `create`; a stream comes back as a
   * `StreamableFile` Nest sends (and destroys if the client goes away, which
   * ends the loop over the upstream's events and so aborts its call). Chat and
   * text completions ask for the usage of their streams, to be priced.
   */
  private async relay(request: unknown, create: (params: Fields) => Promise<unknown>, typed: boolean): Promise<unknown> {
    const params = body(request);
    model(params);
    const streamed = params.stream === true;
    const upstreamParams =
      streamed && !typed ? { ...params, stream_options: { ...(params.stream_options as Fields), include_usage: true } } : params;
    let answer: unknown;
    try {
      answer = await create(upstreamParams);
    } catch (err) {
      passOn(err);
    }
    if (!streamed) {
      return answer;
    }
    const events = Readable.from(serverSentEvents(answer as AsyncIterable<object>, typed));
    return new StreamableFile(events, { type: 'text/event-stream' });
  }
}
