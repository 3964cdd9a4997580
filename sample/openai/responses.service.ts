import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type AnswerToken, MockEngineService } from '../engine/mock-engine.service.js';
import { validateResponseRequest } from './openai-request.validation.js';
import { assertServed } from './openai.exceptions.js';
import type { ResponseObject, ResponseOutputItem, ResponseRequest, ResponseStreamEvent } from './openai.types.js';

/** An event of a stream before its sequence number. */
interface UnnumberedEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * The Responses API on top of the engine (`POST /v1/responses`), unary or as
 * typed events; transport-agnostic. The answer's output is a reasoning item
 * (when asked to reason), then a message, or a function call (when offered
 * tools).
 */
@Injectable()
export class ResponsesService {
  constructor(private readonly engine: MockEngineService) {}

  /**
   * Checks a request body.
   * @throws InvalidRequestException (400) if it is malformed.
   * @throws ModelNotFoundException (404) if the engine does not serve its model,
   *   or an HttpException of the model's status if it is one of the engine's failing models.
   */
  parse(body: unknown): ResponseRequest {
    const request = validateResponseRequest(body);
    assertServed(this.engine, request.model);
    return request;
  }

  /** The whole answer; aborting `signal` stops the generation. */
  async create(request: ResponseRequest, signal?: AbortSignal): Promise<ResponseObject> {
    let last: ResponseStreamEvent | undefined;
    for await (const event of this.stream(request, signal)) {
      last = event;
    }
    return last!.response as ResponseObject;
  }

  /**
   * The answer as typed events, as OpenAI streams them: `response.created`;
   * for each output item `response.output_item.added`, its content part,
   * its deltas (`response.reasoning_text.delta`, `response.output_text.delta`,
   * `response.function_call_arguments.delta`) and `response.output_item.done`;
   * then `response.completed`, or `response.incomplete` when
   * `max_output_tokens` cut it. Aborting `signal`, or stopping the iteration,
   * stops the generation.
   */
  async *stream(request: ResponseRequest, signal?: AbortSignal): AsyncGenerator<ResponseStreamEvent> {
    const cachedTokens = this.engine.cachedTokens(request.input);
    const response: ResponseObject = {
      id: `resp_${randomUUID()}`,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      model: request.model,
      status: 'in_progress',
      incomplete_details: null,
      output: [],
      usage: null,
      error: null,
    };
    let sequence = 0;
    const numbered = (event: UnnumberedEvent): ResponseStreamEvent => ({ ...event, sequence_number: sequence++ });
    yield numbered({ type: 'response.created', response: structuredClone(response) });
    let item: ResponseOutputItem | undefined;
    let outputTokens = 0;
    let reasoningTokens = 0;
    for await (const token of this.generate(request, signal)) {
      outputTokens++;
      reasoningTokens += token.kind === 'reasoning' ? 1 : 0;
      if (item === undefined || this.kindOf(item) !== token.kind) {
        if (item !== undefined) {
          yield* this.finishItem(response, item, numbered);
        }
        item = this.newItem(token);
        response.output.push(item);
        yield* this.startItem(response, item, numbered);
      }
      yield numbered(this.delta(response, item, token));
    }
    const cut = request.max_output_tokens !== undefined && outputTokens >= request.max_output_tokens;
    if (item !== undefined) {
      yield* this.finishItem(response, item, numbered, cut);
    }
    response.status = cut ? 'incomplete' : 'completed';
    response.incomplete_details = cut ? { reason: 'max_output_tokens' } : null;
    const inputTokens = this.engine.countTokens(request.input);
    response.usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: cachedTokens },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: reasoningTokens },
      total_tokens: inputTokens + outputTokens,
    };
    yield numbered({ type: cut ? 'response.incomplete' : 'response.completed', response });
  }

  private generate(request: ResponseRequest, signal?: AbortSignal): AsyncGenerator<AnswerToken> {
    return this.engine.answer(request.input, {
      maxTokens: request.max_output_tokens,
      signal,
      reasoning: (request.reasoning?.effort ?? 'none') !== 'none',
      tools: request.tools?.map((tool) => tool.name),
    });
  }

  private kindOf(item: ResponseOutputItem): AnswerToken['kind'] {
    return item.type === 'message' ? 'content' : item.type === 'function_call' ? 'tool_call' : 'reasoning';
  }

  private newItem(token: AnswerToken): ResponseOutputItem {
    if (token.kind === 'tool_call') {
      const id = randomUUID();
      return { type: 'function_call', id: `fc_${id}`, call_id: `call_${id}`, name: token.name, arguments: '', status: 'in_progress' };
    }
    return token.kind === 'reasoning'
      ? { type: 'reasoning', id: `rs_${randomUUID()}`, summary: [], content: [] }
      : { type: 'message', id: `msg_${randomUUID()}`, role: 'assistant', status: 'in_progress', content: [] };
  }

  /** `response.output_item.added`, then the item's content part (an empty text the deltas add to). */
  private *startItem(response: ResponseObject, item: ResponseOutputItem, numbered: (event: UnnumberedEvent) => ResponseStreamEvent) {
    const output_index = response.output.indexOf(item);
    yield numbered({ type: 'response.output_item.added', output_index, item: structuredClone(item) });
    if (item.type === 'function_call') {
      return;
    }
    const part = item.type === 'message' ? { type: 'output_text', text: '', annotations: [] } : { type: 'reasoning_text', text: '' };
    yield numbered({ type: 'response.content_part.added', item_id: item.id, output_index, content_index: 0, part: { ...part } });
    (item.content as object[]).push(part);
  }

  /** The delta event of `token`, added to `item` (of the token's kind). */
  private delta(response: ResponseObject, item: ResponseOutputItem, token: AnswerToken): UnnumberedEvent {
    const at = { item_id: item.id, output_index: response.output.indexOf(item) };
    const delta = token.kind === 'tool_call' ? token.arguments : token.text;
    if (item.type === 'function_call') {
      item.arguments += delta;
      return { type: 'response.function_call_arguments.delta', ...at, delta };
    }
    item.content![0].text += delta;
    const type = item.type === 'reasoning' ? 'response.reasoning_text.delta' : 'response.output_text.delta';
    return { type, ...at, content_index: 0, delta };
  }

  /** `response.function_call_arguments.done` for a call, then `response.output_item.done` with the whole item (a message `cut` is incomplete). */
  private *finishItem(
    response: ResponseObject,
    item: ResponseOutputItem,
    numbered: (event: UnnumberedEvent) => ResponseStreamEvent,
    cut = false,
  ) {
    const output_index = response.output.indexOf(item);
    if (item.type === 'function_call') {
      item.status = 'completed';
      yield numbered({ type: 'response.function_call_arguments.done', item_id: item.id, output_index, arguments: item.arguments });
    } else if (item.type === 'message') {
      item.status = cut ? 'incomplete' : 'completed';
    }
    yield numbered({ type: 'response.output_item.done', output_index, item: structuredClone(item) });
  }
}
