import type { ServerResponse } from 'node:http';
import type { InflightGuard } from '../core/inflight.guard.js';
import { ErrorType, REQUEST_TYPE_STREAM, errorTypeForStatus } from '../core/labels.js';
import { type PayloadSummary, SseEventReader, type TokenUsage, summarizePayload } from '../core/openai-chunk.inspector.js';
import type { RoutePlan } from './route-plan.js';

/** Where the current request's tracking is kept on the request object. */
export const REQUEST_TRACKING = Symbol.for('nestjs-llm-metrics.tracking');

/** Where a response keeps the tracking that waits for it to close (see `endWithResponseIfTurnedAway`). */
const RESPONSE_TRACKING = Symbol('nestjs-llm-metrics.response-tracking');

type WatchedResponse = ServerResponse & { [RESPONSE_TRACKING]?: RequestTracking };

/** On `close`: a request whose handler was never called ended with its response. */
function endIfTurnedAway(this: WatchedResponse): void {
  const tracking = this[RESPONSE_TRACKING];
  if (tracking && !tracking.handlerCalled) {
    tracking.endResponse(this.writableFinished, this.statusCode);
  }
}

/** A unary body larger than this is not parsed for its `usage`. */
const MAX_PARSED_BODY_LENGTH = 1 << 20;

/** The HTTP status of an exception: `getStatus()` (Nest) or a numeric `status` / `statusCode`. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) {
    return undefined;
  }
  const candidate = err as { getStatus?: () => unknown; status?: unknown; statusCode?: unknown };
  const status = typeof candidate.getStatus === 'function' ? candidate.getStatus() : (candidate.status ?? candidate.statusCode);
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/**
 * The outcome rules of one tracked request, in one place: every response
 * shape reports here how its response ended and what it carried, and this
 * decides the status, the error type and the token metrics of the guard.
 */
export class RequestTracking {
  /** An error the handler reported in-band wins over a response that ended well. */
  private handlerErrorType: ErrorType | undefined;
  /** Once the handler reports token counts itself, chunks are no longer counted. */
  private countsChunks = true;
  private sseReader: SseEventReader | undefined;
  /** Set when the route handler is called: until then, the request can still be turned away (e.g. by a pipe). */
  handlerCalled = false;

  constructor(
    readonly guard: InflightGuard,
    private readonly response: ServerResponse,
    readonly plan: RoutePlan,
  ) {}

  /** Whether the client's connection closed before the response was finished. */
  isConnectionClosed(): boolean {
    return this.response.destroyed === true && !this.response.writableFinished;
  }

  /**
   * For a route whose request can still be turned away before its handler
   * is called (by a pipe, a custom parameter decorator or an interceptor):
   * if that happens, the response the app sends instead tells how it ended.
   */
  endWithResponseIfTurnedAway(): void {
    (this.response as WatchedResponse)[RESPONSE_TRACKING] = this;
    this.response.on('close', endIfTurnedAway);
  }

  /** The response was delivered whole, unless the client left first. */
  complete(): void {
    if (this.isConnectionClosed()) {
      this.cancel();
    } else {
      this.succeed();
    }
  }

  /** A streamed body ended: read to its end (`delivered`), or failed or closed early. */
  endStream(delivered: boolean): void {
    if (delivered) {
      this.succeed();
    } else {
      this.fail(undefined);
    }
  }

  /** A response written by the handler finished with `statusCode`, or closed before it finished. */
  endResponse(finished: boolean, statusCode: number): void {
    if (!finished) {
      this.cancel();
    } else if (statusCode < 400) {
      this.succeed();
    } else {
      this.finishWithError(errorTypeForStatus(statusCode));
    }
  }

  /**
   * The handler threw, its Observable errored, or its stream failed: an
   * HTTP error by its status; otherwise a cancellation if the client is
   * gone (the likely cause), else an internal error.
   */
  fail(err: unknown): void {
    const status = statusOf(err);
    if (status !== undefined) {
      this.finishWithError(errorTypeForStatus(status));
    } else {
      this.finishWithError(this.isConnectionClosed() ? ErrorType.Cancelled : ErrorType.Internal);
    }
  }

  /** The client went away before the response ended. */
  cancel(): void {
    this.finishWithError(ErrorType.Cancelled);
  }

  /** From the handler: the request failed in-band (e.g. an error event in a stream that otherwise ends well). */
  markError(errorType: ErrorType): void {
    this.handlerErrorType = errorType;
    this.guard.markError(errorType);
  }

  /** From the handler: `count` output tokens are being sent now. */
  recordTokens(count: number): void {
    this.countsChunks = false;
    this.guard.recordOutput(count);
  }

  /** From the handler: the request's token usage. */
  recordUsage(usage: TokenUsage): void {
    this.guard.recordUsage(usage);
  }

  /** A chunk of a streamed body or of a response the handler writes: SSE text, or a payload object. */
  observeChunk(chunk: unknown): void {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
      if (this.guard.requestType === REQUEST_TYPE_STREAM) {
        this.sseReader ??= new SseEventReader();
        this.record(this.sseReader.read(chunk));
      } else {
        this.observeUnaryBody(chunk);
      }
    } else {
      this.record(summarizePayload(chunk));
    }
  }

  /** An event of an `@Sse()` Observable: a `MessageEvent` whose `data` is a payload or its JSON. */
  observeEvent(event: unknown): void {
    const data = typeof event === 'object' && event !== null && 'data' in event ? (event as { data: unknown }).data : event;
    if (typeof data === 'string') {
      if (data.charCodeAt(0) === 123 /* { */) {
        this.record(summarizePayload(parseJson(data)));
      }
    } else {
      this.record(summarizePayload(data));
    }
  }

  /** The value a unary handler returned: only its `usage` counts. */
  observeValue(value: unknown): void {
    const usage = summarizePayload(value).usage;
    if (usage) {
      this.guard.recordUsage(usage);
    }
  }

  private observeUnaryBody(body: string | Uint8Array): void {
    if (body.length > MAX_PARSED_BODY_LENGTH) {
      return;
    }
    const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    if (text.includes('"usage"')) {
      this.observeValue(parseJson(text));
    }
  }

  private record(summary: PayloadSummary): void {
    if (summary.tokens > 0 && this.countsChunks) {
      this.guard.recordOutput(summary.tokens);
    }
    if (summary.usage) {
      this.guard.recordUsage(summary.usage);
    }
  }

  // Every outcome ends in one of these two; the first one decides, later ones
  // (e.g. the teardown that follows a completion) leave the outcome alone.
  private succeed(): void {
    if (this.guard.finished) {
      return;
    }
    if (this.handlerErrorType === undefined) {
      this.guard.markOk();
    }
    this.guard.finish();
  }

  private finishWithError(errorType: ErrorType): void {
    if (this.guard.finished) {
      return;
    }
    this.guard.markError(this.handlerErrorType ?? errorType);
    this.guard.finish();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
