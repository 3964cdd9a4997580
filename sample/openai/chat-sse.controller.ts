import { Body, Controller, HttpCode, type MessageEvent, RequestMethod, Sse, UseGuards } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { Endpoint, TrackLlm } from '../../src/index.js';
import { ChatCompletionsService } from './chat-completions.service.js';

/**
 * Streaming style 3: `@Sse()`. Nest writes the events of the returned
 * Observable and unsubscribes when the client goes away, which stops the
 * generation. An `@Sse()` route always streams, so it is always counted as a
 * `stream` request, whatever the body's `stream` says.
 */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ChatSseController {
  constructor(private readonly chat: ChatCompletionsService) {}

  /** The chat completion of the body as Server-Sent Events: a chunk per token, then `[DONE]`. */
  @Sse('chat/completions/sse', { method: RequestMethod.POST })
  @HttpCode(200) // Nest answers a POST with 201 otherwise
  @TrackLlm(Endpoint.ChatCompletions)
  chatCompletionEvents(@Body() body: unknown): Observable<MessageEvent> {
    // Thrown before the events start, so the client gets a 400 or 404 JSON answer.
    const request = this.chat.parse(body);
    return new Observable<MessageEvent>((subscriber) => {
      const unsubscribed = new AbortController();
      const produce = async () => {
        for await (const chunk of this.chat.stream(request, unsubscribed.signal)) {
          subscriber.next({ data: chunk });
        }
        subscriber.next({ data: '[DONE]' });
        subscriber.complete();
      };
      produce().catch((err: unknown) => {
        if (!unsubscribed.signal.aborted) {
          subscriber.error(err);
        }
      });
      return () => unsubscribed.abort();
    });
  }
}
