import { Body, Controller, Header, HttpCode, Post, StreamableFile, UseGuards } from '@nestjs/common';
import { Readable } from 'node:stream';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { Endpoint, TrackLlm } from '../../src/index.js';
import type { ResponseObject, ResponseStreamEvent } from './openai.types.js';
import { ResponsesService } from './responses.service.js';

/** The wire form of a Responses API stream: each event named by its type; no `[DONE]`. */
async function* toTypedServerSentEvents(events: AsyncIterable<ResponseStreamEvent>): AsyncGenerator<string> {
  for await (const event of events) {
    yield `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  }
}

/**
 * The Responses API, unary or streamed in style 2 (a `StreamableFile` Nest
 * sends, and destroys if the client goes away). The metrics read its typed
 * events: reasoning and output-text deltas, function calls, the usage and
 * status of `response.completed` / `response.incomplete`.
 */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @Post('responses')
  @HttpCode(200)
  @Header('Cache-Control', 'no-cache')
  @TrackLlm(Endpoint.Responses)
  async createResponse(@Body() body: unknown): Promise<ResponseObject | StreamableFile> {
    const request = this.responses.parse(body);
    if (!request.stream) {
      return this.responses.create(request);
    }
    const events = Readable.from(toTypedServerSentEvents(this.responses.stream(request)));
    return new StreamableFile(events, { type: 'text/event-stream' });
  }
}
