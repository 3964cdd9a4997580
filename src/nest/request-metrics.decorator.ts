import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { ErrorType, type FinishReason, type ToolCallOutcome } from '../labels/label-values.js';
import type { TokenUsage } from '../openai/openai-payload.js';
import { RequestTracking } from './request-tracking.js';

/**
 * What a handler can tell the metrics of the current request that its
 * response does not show. On a route that is not tracked, every call does nothing.
 */
export class LlmRequestMetrics {
  /** @internal handed out by `@RequestMetrics()`. */
  constructor(private readonly tracking: RequestTracking | undefined) {}

  /** Whether the current request is tracked. */
  get tracked(): boolean {
    return this.tracking !== undefined;
  }

  /** The `model` label value the request is recorded under, if it is tracked. */
  get model(): string | undefined {
    return this.tracking?.guard.model;
  }

  /** The values of the request labels (the `labels` option) the request is recorded under, by name, if it is tracked. */
  get labels(): Readonly<Record<string, string>> | undefined {
    return this.tracking?.guard.labels;
  }

  /** Seconds since the request's tracking opened (before the pipes and the handler), if it is tracked. */
  get elapsedSeconds(): number | undefined {
    return this.tracking?.guard.elapsedSeconds();
  }

  /**
   * Seconds from the request's start to its first output sent, once it went
   * out (the value its time-to-first-token sample has), if it is tracked: a
   * stream's handler can log it, or send it in a last event.
   */
  get timeToFirstTokenSeconds(): number | undefined {
    return this.tracking?.guard.timeToFirstTokenSeconds;
  }

  /**
   * Counts the request as an error of `errorType` however its response ends,
   * e.g. a stream that reports an engine failure in an event and ends normally.
   */
  markError(errorType: ErrorType = ErrorType.Internal): void {
    this.tracking?.markError(errorType);
  }

  /**
   * Reports that the engine refused the request for lack of resources: it is
   * counted now, as an `overload` error (and in `model_rejection_total` of the
   * `dynamo-frontend` schema), whatever the handler answers then.
   */
  markRejected(): void {
    this.tracking?.markRejected();
  }

  /**
   * Reports that `count` output tokens are being sent now, for chunks without
   * a `usage` or whose choices hold several tokens; `'reasoning'` ones do not
   * end the time to first content token. From the first call on, chunks are
   * no longer counted as one token each.
   */
  recordTokens(count: number, kind: 'content' | 'reasoning' = 'content'): void {
    this.tracking?.recordTokens(count, kind);
  }

  /**
   * Reports the request's token usage (`prompt_tokens` → input length,
   * `completion_tokens` → output length, `prompt_tokens_details.cached_tokens`,
   * `completion_tokens_details.reasoning_tokens`).
   */
  recordUsage(usage: TokenUsage): void {
    this.tracking?.recordUsage(usage);
  }

  /**
   * Reports a finish reason of the answer (`stop`, `length`, `tool_calls`,
   * `content_filter`, `function_call`; any other is `other`), for answers
   * that do not show it. From the first call on, the answer's own are no
   * longer read.
   */
  recordFinishReason(reason: FinishReason | (string & {})): void {
    this.tracking?.recordFinishReason(reason);
  }

  /**
   * Reports a tool call of the answer: its outcome, or its `{ name, arguments }`
   * to be judged as the answer's are (a tool of the request's `tools`, with
   * arguments that parse as JSON). From the first call on, the answer's own
   * are no longer read.
   * @throws TypeError if an outcome is not `ok`, `invalid_arguments` or `unknown_tool`.
   */
  recordToolCall(call: ToolCallOutcome | { name: string; arguments: unknown }): void {
    this.tracking?.recordToolCall(call);
  }
}

/**
 * Injects the current request's `LlmRequestMetrics` into a handler parameter:
 * `chat(@Body() body, @RequestMetrics() metrics: LlmRequestMetrics)`.
 */
export const RequestMetrics = createParamDecorator(
  (_: unknown, context: ExecutionContext): LlmRequestMetrics =>
    new LlmRequestMetrics(RequestTracking.of(context.switchToHttp().getRequest<object>())),
);
