import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MockEngineService } from '../engine/mock-engine.service.js';
import { validateCompletionRequest } from './openai-request.validation.js';
import { assertServed } from './openai.exceptions.js';
import type { CompletionRequest, FinishReason, TextCompletion, Usage } from './openai.types.js';

/** The prompts of a request: a batch answers each with a choice of its own, in order. */
function promptsOf(request: CompletionRequest): readonly string[] {
  return typeof request.prompt === 'string' ? [request.prompt] : request.prompt;
}

/** (Legacy) text completions on top of the engine, in the shapes of the OpenAI API; transport-agnostic. */
@Injectable()
export class CompletionsService {
  constructor(private readonly engine: MockEngineService) {}

  /**
   * Checks a request body.
   * @throws InvalidRequestException (400) if it is malformed.
   * @throws ModelNotFoundException (404) if the engine does not serve its model,
   *   or an HttpException of the model's status if it is one of the engine's failing models.
   */
  parse(body: unknown): CompletionRequest {
    const request = validateCompletionRequest(body);
    assertServed(this.engine, request.model);
    return request;
  }

  /** The whole completion, a choice per prompt; aborting `signal` stops the generation. */
  async create(request: CompletionRequest, signal?: AbortSignal): Promise<TextCompletion> {
    const cachedTokens = this.cachedTokens(request);
    const choices: TextCompletion['choices'] = [];
    let completionTokens = 0;
    for (const [index, prompt] of promptsOf(request).entries()) {
      let text = '';
      let tokens = 0;
      for await (const token of this.engine.generate(prompt, { maxTokens: request.max_tokens, signal })) {
        text += token;
        tokens++;
      }
      completionTokens += tokens;
      choices.push({ index, text, logprobs: null, finish_reason: this.finishReason(request, tokens) });
    }
    return {
      id: `cmpl-${randomUUID()}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices,
      usage: this.usage(request, completionTokens, cachedTokens),
    };
  }

  /**
   * The completion as it is generated: for each prompt in turn, a chunk per
   * token and a last one with its `finish_reason`; then, if
   * `stream_options.include_usage` is set, a chunk with the `usage` and no
   * choices. Aborting `signal`, or stopping the iteration, stops the generation.
   */
  async *stream(request: CompletionRequest, signal?: AbortSignal): AsyncGenerator<TextCompletion> {
    const cachedTokens = this.cachedTokens(request);
    const id = `cmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices: TextCompletion['choices'], usage?: Usage): TextCompletion => ({
      id,
      object: 'text_completion',
      created,
      model: request.model,
      choices,
      ...(usage && { usage }),
    });
    let completionTokens = 0;
    for (const [index, prompt] of promptsOf(request).entries()) {
      let tokens = 0;
      for await (const text of this.engine.generate(prompt, { maxTokens: request.max_tokens, signal })) {
        tokens++;
        yield chunk([{ index, text, logprobs: null, finish_reason: null }]);
      }
      completionTokens += tokens;
      yield chunk([{ index, text: '', logprobs: null, finish_reason: this.finishReason(request, tokens) }]);
    }
    if (request.stream_options?.include_usage) {
      yield chunk([], this.usage(request, completionTokens, cachedTokens));
    }
  }

  private finishReason(request: CompletionRequest, completionTokens: number): FinishReason {
    return request.max_tokens !== undefined && completionTokens >= request.max_tokens ? 'length' : 'stop';
  }

  /** The prompt tokens of every prompt the engine's prefix cache holds. */
  private cachedTokens(request: CompletionRequest): number {
    return promptsOf(request).reduce((sum, prompt) => sum + this.engine.cachedTokens(prompt), 0);
  }

  private usage(request: CompletionRequest, completionTokens: number, cachedTokens: number): Usage {
    const promptTokens = promptsOf(request).reduce((sum, prompt) => sum + this.engine.countTokens(prompt), 0);
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens },
      completion_tokens_details: { reasoning_tokens: 0 },
    };
  }
}
