import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import type { MockEngineService } from '../engine/mock-engine.service.js';
import type { OpenAiErrorBody } from './openai.types.js';

/** An OpenAI-style error body. */
export function openAiErrorBody(message: string, type: string, param: string | null = null, code: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** 400 with an OpenAI `invalid_request_error` body naming the faulty parameter. */
export class InvalidRequestException extends BadRequestException {
  constructor(message: string, param: string | null = null) {
    super(openAiErrorBody(message, 'invalid_request_error', param));
  }
}

/** 404 with an OpenAI `model_not_found` body, for a model the engine does not serve. */
export class ModelNotFoundException extends NotFoundException {
  constructor(model: string) {
    super(
      openAiErrorBody(
        `The model \`${model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model',
        'model_not_found',
      ),
    );
  }
}

/** 529 with an OpenAI-style `overloaded_error` body: the engine has no room for the request now. */
export class EngineOverloadedException extends HttpException {
  constructor() {
    super(openAiErrorBody('The engine is overloaded; retry later.', 'overloaded_error'), 529);
  }
}

/**
 * Checks that the engine takes requests for `model`.
 * @throws ModelNotFoundException (404) if it does not serve it.
 * @throws HttpException of the model's status if it is one of the engine's failing models.
 */
export function assertServed(engine: MockEngineService, model: string): void {
  if (!engine.hasModel(model)) {
    throw new ModelNotFoundException(model);
  }
  const status = engine.failureOf(model);
  if (status !== undefined) {
    throw new HttpException(openAiErrorBody(`The model \`${model}\` failed (mock failure ${status}).`, 'server_error'), status);
  }
}
