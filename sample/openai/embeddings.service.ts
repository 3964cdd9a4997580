import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { MockEngineService } from '../engine/mock-engine.service.js';
import { validateEmbeddingRequest } from './openai-request.validation.js';
import { assertServed } from './openai.exceptions.js';
import type { EmbeddingList, EmbeddingRequest } from './openai.types.js';

/** Length of the mock vectors. */
const DIMENSIONS = 8;

/** Embeddings on top of the engine, in the shapes of the OpenAI API: deterministic vectors from a hash of each input. */
@Injectable()
export class EmbeddingsService {
  constructor(private readonly engine: MockEngineService) {}

  /**
   * Checks a request body.
   * @throws InvalidRequestException (400) if it is malformed.
   * @throws ModelNotFoundException (404) if the engine does not serve its model,
   *   or an HttpException of the model's status if it is one of the engine's failing models.
   */
  parse(body: unknown): EmbeddingRequest {
    const request = validateEmbeddingRequest(body);
    assertServed(this.engine, request.model);
    return request;
  }

  /** One unit-length vector per input, and the inputs' token count as `usage`. */
  create(request: EmbeddingRequest): EmbeddingList {
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    const promptTokens = inputs.reduce((sum, input) => sum + this.engine.countTokens(input), 0);
    return {
      object: 'list',
      data: inputs.map((input, index) => ({
        object: 'embedding',
        index,
        embedding: request.encoding_format === 'base64' ? toBase64(vectorOf(input)) : vectorOf(input),
      })),
      model: request.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  }
}

function vectorOf(input: string): number[] {
  const digest = createHash('sha256').update(input).digest();
  const raw = Array.from({ length: DIMENSIONS }, (_, i) => digest.readInt8(i) / 128);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Number((value / norm).toFixed(6)));
}

/** The vector as little-endian float32 bytes, base64-encoded, as the OpenAI API sends it. */
function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
