import { BadRequestException, NotFoundException } from '@nestjs/common';
import type { OpenAiErrorBody } from './openai.types.js';

/** An OpenAI-style error body. */
export function openAiErrorBody(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAiErrorBody {
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
