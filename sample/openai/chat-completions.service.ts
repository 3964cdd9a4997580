import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MockEngineService } from '../engine/mock-engine.service.js';
import { validateChatCompletionRequest } from './openai-request.validation.js';
import { assertServed } from './openai.exceptions.js';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, FinishReason, Usage } from './openai.types.js';

/** The prompt the engine answers: the last user message (or the last message if no user spoke). */
function promptOf(messages: readonly ChatMessage[]): string {
  const user = [...messages].reverse().find((message) => message.role === 'user');
  return (user ?? messages[messages.length - 1]).content;
}

/** Chat completions on top of the engine, in the shapes of the OpenAI API; transport-agnostic. */
@Injectable()
export class ChatCompletionsService {
  constructor(private readonly engine: MockEngineService) {}

  /**
   * Checks a request body.
   * @throws InvalidRequestException (400) if it is malformed.
   * @throws ModelNotFoundException (404) if the engine does not serve its model,
   *   or an HttpException of the model's status if it is one of the engine's failing models.
   */
  parse(body: unknown): ChatCompletionRequest {
    const request = validateChatCompletionRequest(body);
    assertServed(this.engine, request.model);
    return request;
  }

  /** The whole completion; aborting `signal` stops the generation (the promise then rejects with an `AbortError`). */
  async create(request: ChatCompletionRequest, signal?: AbortSignal): Promise<ChatCompletion> {
    const cachedTokens = this.engine.cachedTokens(this.promptText(request));
    let content = '';
    let completionTokens = 0;
    for await (const token of this.generate(request, signal)) {
      content += token;
      completionTokens++;
    }
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content },
          finish_reason: this.finishReason(request, completionTokens),
        },
      ],
      usage: this.usage(request, completionTokens, cachedTokens),
    };
  }

  /**
   * The completion as it is generated: a chunk per token, a last chunk with
   * the `finish_reason`, then, if `stream_options.include_usage` is set, a
   * chunk with the `usage` and no choices. Aborting `signal`, or stopping
   * the iteration, stops the generation.
   */
  async *stream(request: ChatCompletionRequest, signal?: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    const cachedTokens = this.engine.cachedTokens(this.promptText(request));
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices: ChatCompletionChunk['choices'], usage?: Usage): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      choices,
      ...(usage && { usage }),
    });
    let completionTokens = 0;
    for await (const token of this.generate(request, signal)) {
      // The first chunk also tells the role, as OpenAI's does.
      const delta = completionTokens === 0 ? { role: 'assistant' as const, content: token } : { content: token };
      completionTokens++;
      yield chunk([{ index: 0, delta, finish_reason: null }]);
    }
    yield chunk([{ index: 0, delta: {}, finish_reason: this.finishReason(request, completionTokens) }]);
    if (request.stream_options?.include_usage) {
      yield chunk([], this.usage(request, completionTokens, cachedTokens));
    }
  }

  private generate(request: ChatCompletionRequest, signal?: AbortSignal): AsyncGenerator<string> {
    return this.engine.generate(promptOf(request.messages), { maxTokens: request.max_tokens, signal });
  }

  private finishReason(request: ChatCompletionRequest, completionTokens: number): FinishReason {
    return request.max_tokens !== undefined && completionTokens >= request.max_tokens ? 'length' : 'stop';
  }

  /** The text of every message: what the engine reads, and caches. */
  private promptText(request: ChatCompletionRequest): string {
    return request.messages.map(({ content }) => content).join('\n');
  }

  private usage(request: ChatCompletionRequest, completionTokens: number, cachedTokens: number): Usage {
    const promptTokens = this.engine.countTokens(this.promptText(request));
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens },
    };
  }
}
