import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MOCK_MODELS, DEFAULT_TOKEN_DELAY_MS, MOCK_ENGINE_OPTIONS, type MockEngineOptions } from './mock-engine.options.js';

/** Number of tokens of a reply the mock engine is not asked to cut short. */
export const MOCK_REPLY_TOKENS = 16;

const FILLER = 'This is a deterministic reply from the mock engine, streamed one word per token.';

/** A model the engine serves. */
export interface MockModel {
  readonly id: string;
  /** When the engine started serving it, in seconds since the epoch. */
  readonly created: number;
  readonly ownedBy: string;
}

/** How one generation runs. */
export interface GenerateOptions {
  /** Stop after this many tokens (default {@link MOCK_REPLY_TOKENS}, which is also the most a reply has). */
  maxTokens?: number;
  /** Aborting it stops the generation: the iterator then throws an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * A stand-in for a real inference engine: deterministic replies, one word per
 * token, each after a configurable delay. Replace it with your engine's client.
 */
@Injectable()
export class MockEngineService {
  private readonly models: readonly MockModel[];
  private readonly tokenDelayMs: number;

  constructor(@Inject(MOCK_ENGINE_OPTIONS) options: MockEngineOptions) {
    const tokenDelayMs = options.tokenDelayMs ?? DEFAULT_TOKEN_DELAY_MS;
    if (!Number.isFinite(tokenDelayMs) || tokenDelayMs < 0) {
      throw new RangeError(`MockEngineService: tokenDelayMs must be a non-negative number, got ${tokenDelayMs}`);
    }
    this.tokenDelayMs = tokenDelayMs;
    const created = Math.floor(Date.now() / 1000);
    this.models = (options.models ?? DEFAULT_MOCK_MODELS).map((id) => ({ id, created, ownedBy: 'mock-engine' }));
  }

  /** The models the engine serves. */
  listModels(): readonly MockModel[] {
    return this.models;
  }

  /** Whether the engine serves `model`. */
  hasModel(model: string): boolean {
    return this.models.some(({ id }) => id === model);
  }

  /** Number of tokens in `text`, as this engine counts them: its whitespace-separated words. */
  countTokens(text: string): number {
    return text.split(/\s+/).filter((word) => word.length > 0).length;
  }

  /**
   * Generates the reply to `prompt`, one token at a time: `You said: "<prompt>".`
   * followed by filler, cut to {@link MOCK_REPLY_TOKENS} tokens (or `maxTokens`).
   * Tokens after the first start with a space, so that they join into the reply.
   */
  async *generate(prompt: string, options: GenerateOptions = {}): AsyncGenerator<string> {
    const { maxTokens = MOCK_REPLY_TOKENS, signal } = options;
    const words = `You said: "${prompt.split(/\s+/).filter(Boolean).join(' ')}". ${FILLER}`.split(' ');
    const tokens = words.slice(0, Math.min(maxTokens, MOCK_REPLY_TOKENS));
    for (const [index, word] of tokens.entries()) {
      if (this.tokenDelayMs > 0) {
        await sleep(this.tokenDelayMs, undefined, { signal });
      }
      signal?.throwIfAborted();
      yield index === 0 ? word : ` ${word}`;
    }
  }
}
