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

/** Thrown by {@link MockEngineService.admit} when every generation slot is taken. */
export class EngineOverloadedError extends Error {
  constructor(capacity: number) {
    super(`The engine runs ${capacity} generation(s) at once, and all are taken`);
  }
}

/** How many prompts the prefix cache remembers before it starts afresh. */
const PROMPT_CACHE_SIZE = 1000;

/** Reasoning tokens the engine thinks before it answers, when asked to reason. */
export const MOCK_REASONING_TOKENS = 4;

const THOUGHT = 'Thinking about what was asked.';

/** How one generation runs. */
export interface GenerateOptions {
  /** Stop after this many tokens, reasoning included (default {@link MOCK_REPLY_TOKENS}, which is also the most a reply has). */
  maxTokens?: number;
  /** Aborting it stops the generation: the iterator then throws an `AbortError`. */
  signal?: AbortSignal;
}

/** How one answer runs: a generation that may reason first, or call a tool. */
export interface AnswerOptions extends GenerateOptions {
  /** Think {@link MOCK_REASONING_TOKENS} reasoning tokens before the content (a reasoning model). */
  reasoning?: boolean;
  /** The names of the tools the request offers: the engine calls one instead of answering (see {@link MockEngineService.answer}). */
  tools?: readonly string[];
}

/** One token of an answer: reasoning, content, or a piece of a tool call's arguments (each piece carries the call's name). */
export type AnswerToken =
  | { readonly kind: 'reasoning' | 'content'; readonly text: string }
  | { readonly kind: 'tool_call'; readonly name: string; readonly arguments: string };

/** A prompt `call <name> <arguments>` scripts the tool call, to see unknown tools and bad arguments in the metrics. */
const SCRIPTED_CALL = /^call\s+(\S+)(?:\s+([\s\S]*))?$/;
/** Characters of a tool call's arguments per token. */
const ARGUMENT_PIECE = 8;

/**
 * A stand-in for a real inference engine: deterministic replies, one word per
 * token, each after a configurable delay. Replace it with your engine's client.
 */
@Injectable()
export class MockEngineService {
  private readonly models: readonly MockModel[];
  private readonly tokenDelayMs: number;
  private readonly capacity: number;
  private readonly failures: ReadonlyMap<string, number>;
  /** Prompts seen before: their tokens are "cached" the next time. */
  private readonly promptCache = new Set<string>();
  private running = 0;

  constructor(@Inject(MOCK_ENGINE_OPTIONS) options: MockEngineOptions) {
    const tokenDelayMs = options.tokenDelayMs ?? DEFAULT_TOKEN_DELAY_MS;
    if (!Number.isFinite(tokenDelayMs) || tokenDelayMs < 0) {
      throw new RangeError(`MockEngineService: tokenDelayMs must be a non-negative number, got ${tokenDelayMs}`);
    }
    this.tokenDelayMs = tokenDelayMs;
    this.capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    if (!(this.capacity >= 1)) {
      throw new RangeError(`MockEngineService: capacity must be at least 1, got ${options.capacity}`);
    }
    this.failures = new Map(Object.entries(options.failures ?? {}));
    for (const [model, status] of this.failures) {
      if (!Number.isInteger(status) || status < 400 || status > 599) {
        throw new RangeError(`MockEngineService: model ${model} must fail with an HTTP status from 400 to 599, got ${status}`);
      }
    }
    const created = Math.floor(Date.now() / 1000);
    const ids = new Set([...(options.models ?? DEFAULT_MOCK_MODELS), ...this.failures.keys()]);
    this.models = [...ids].map((id) => ({ id, created, ownedBy: 'mock-engine' }));
  }

  /** The models the engine serves. */
  listModels(): readonly MockModel[] {
    return this.models;
  }

  /** Whether the engine serves `model`. */
  hasModel(model: string): boolean {
    return this.models.some(({ id }) => id === model);
  }

  /** The HTTP status every request for `model` fails with, if it is one of the failing models. */
  failureOf(model: string): number | undefined {
    return this.failures.get(model);
  }

  /** Whether each model can take requests now: all but those failing with 503. */
  readiness(): [model: string, ready: boolean][] {
    return this.models.map(({ id }) => [id, this.failures.get(id) !== 503]);
  }

  /**
   * Takes a generation slot.
   * @returns the function that gives it back (call it once the answer is over).
   * @throws EngineOverloadedError if all `capacity` slots are taken.
   */
  admit(): () => void {
    if (this.running >= this.capacity) {
      throw new EngineOverloadedError(this.capacity);
    }
    this.running++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.running--;
      }
    };
  }

  /**
   * The tokens of `prompt` the engine's prefix cache holds: all of them if it
   * saw the same prompt before, none otherwise; it holds them from now on.
   */
  cachedTokens(prompt: string): number {
    if (this.promptCache.has(prompt)) {
      return this.countTokens(prompt);
    }
    if (this.promptCache.size >= PROMPT_CACHE_SIZE) {
      this.promptCache.clear();
    }
    this.promptCache.add(prompt);
    return 0;
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
    yield* this.emit(this.words(`You said: "${prompt.split(/\s+/).filter(Boolean).join(' ')}". ${FILLER}`, maxTokens), signal);
  }

  /**
   * Answers `prompt` as a model would, one token at a time, `maxTokens` in all:
   * - with `tools`, it calls one: the tool and JSON arguments of a prompt
   *   `call <name> <arguments>` as written (an unknown name, arguments that are
   *   not JSON), else the first tool with `{"query": <prompt>}`;
   * - otherwise, with `reasoning`, {@link MOCK_REASONING_TOKENS} reasoning
   *   tokens first, then the reply of {@link generate}.
   */
  async *answer(prompt: string, options: AnswerOptions = {}): AsyncGenerator<AnswerToken> {
    const { maxTokens = MOCK_REPLY_TOKENS, signal, reasoning = false, tools = [] } = options;
    if (tools.length > 0) {
      const scripted = SCRIPTED_CALL.exec(prompt.trim());
      const name = scripted ? scripted[1] : tools[0];
      const args = scripted ? (scripted[2] ?? '{}') : JSON.stringify({ query: prompt });
      const pieces = Array.from({ length: Math.ceil(args.length / ARGUMENT_PIECE) }, (_, i) =>
        args.slice(i * ARGUMENT_PIECE, (i + 1) * ARGUMENT_PIECE),
      );
      for await (const piece of this.emit(pieces.slice(0, maxTokens), signal)) {
        yield { kind: 'tool_call', name, arguments: piece };
      }
      return;
    }
    const thought = reasoning ? this.words(THOUGHT, Math.min(maxTokens, MOCK_REASONING_TOKENS)) : [];
    for await (const text of this.emit(thought, signal)) {
      yield { kind: 'reasoning', text };
    }
    for await (const text of this.generate(prompt, { maxTokens: maxTokens - thought.length, signal })) {
      yield { kind: 'content', text };
    }
  }

  /** The first `count` words of `text` (at most {@link MOCK_REPLY_TOKENS}), each but the first with its leading space. */
  private words(text: string, count: number): string[] {
    return text
      .split(' ')
      .slice(0, Math.min(count, MOCK_REPLY_TOKENS))
      .map((word, index) => (index === 0 ? word : ` ${word}`));
  }

  /** Yields each token after the engine's delay; aborting `signal` stops it. */
  private async *emit(tokens: readonly string[], signal?: AbortSignal): AsyncGenerator<string> {
    for (const token of tokens) {
      if (this.tokenDelayMs > 0) {
        await sleep(this.tokenDelayMs, undefined, { signal });
      }
      signal?.throwIfAborted();
      yield token;
    }
  }
}
