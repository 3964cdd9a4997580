import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type AnswerToken, MockEngineService } from '../engine/mock-engine.service.js';
import { validateChatCompletionRequest } from './openai-request.validation.js';
import { assertServed } from './openai.exceptions.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  ChatToolCall,
  FinishReason,
  Usage,
} from './openai.types.js';

/** What a chat answer generated: its tokens by kind, and its tool call if it made one. */
interface Generated {
  completionTokens: number;
  reasoningTokens: number;
  toolCall?: ChatToolCall;
}

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
    let reasoning = '';
    const generated: Generated = { completionTokens: 0, reasoningTokens: 0 };
    for await (const token of this.generate(request, signal)) {
      this.count(generated, token);
      if (token.kind === 'content') {
        content += token.text;
      } else if (token.kind === 'reasoning') {
        reasoning += token.text;
      }
    }
    const { toolCall } = generated;
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: toolCall ? null : content,
            ...(reasoning && { reasoning_content: reasoning }),
            ...(toolCall && { tool_calls: [toolCall] }),
          },
          finish_reason: this.finishReason(request, generated),
        },
      ],
      usage: this.usage(request, generated, cachedTokens),
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
    const generated: Generated = { completionTokens: 0, reasoningTokens: 0 };
    for await (const token of this.generate(request, signal)) {
      const first = generated.completionTokens === 0;
      const opened = generated.toolCall;
      this.count(generated, token);
      let delta: ChatCompletionChunk['choices'][number]['delta'];
      if (token.kind === 'tool_call') {
        // The call's first delta names it; the later ones add to its arguments.
        const call = opened ? {} : { id: generated.toolCall!.id, type: 'function' as const };
        delta = { tool_calls: [{ index: 0, ...call, function: { ...(!opened && { name: token.name }), arguments: token.arguments } }] };
      } else {
        delta = token.kind === 'reasoning' ? { reasoning_content: token.text } : { content: token.text };
      }
      // The first chunk also tells the role, as OpenAI's does.
      yield chunk([{ index: 0, delta: first ? { role: 'assistant', ...delta } : delta, finish_reason: null }]);
    }
    yield chunk([{ index: 0, delta: {}, finish_reason: this.finishReason(request, generated) }]);
    if (request.stream_options?.include_usage) {
      yield chunk([], this.usage(request, generated, cachedTokens));
    }
  }

  private generate(request: ChatCompletionRequest, signal?: AbortSignal): AsyncGenerator<AnswerToken> {
    return this.engine.answer(promptOf(request.messages), {
      maxTokens: request.max_tokens,
      signal,
      reasoning: (request.reasoning_effort ?? 'none') !== 'none',
      tools: request.tools?.map((tool) => tool.function.name),
    });
  }

  /** Adds `token` to what was generated. */
  private count(generated: Generated, token: AnswerToken): void {
    generated.completionTokens++;
    if (token.kind === 'reasoning') {
      generated.reasoningTokens++;
    } else if (token.kind === 'tool_call') {
      generated.toolCall ??= { id: `call_${randomUUID()}`, type: 'function', function: { name: token.name, arguments: '' } };
      generated.toolCall.function.arguments += token.arguments;
    }
  }

  private finishReason(request: ChatCompletionRequest, generated: Generated): FinishReason {
    if (request.max_tokens !== undefined && generated.completionTokens >= request.max_tokens) {
      return 'length';
    }
    return generated.toolCall ? 'tool_calls' : 'stop';
  }

  /** The text of every message: what the engine reads, and caches. */
  private promptText(request: ChatCompletionRequest): string {
    return request.messages.map(({ content }) => content).join('\n');
  }

  private usage(request: ChatCompletionRequest, generated: Generated, cachedTokens: number): Usage {
    const promptTokens = this.engine.countTokens(this.promptText(request));
    return {
      prompt_tokens: promptTokens,
      completion_tokens: generated.completionTokens,
      total_tokens: promptTokens + generated.completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens },
      completion_tokens_details: { reasoning_tokens: generated.reasoningTokens },
    };
  }
}
