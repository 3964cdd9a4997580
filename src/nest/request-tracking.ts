import { SSE_ABORT_CONTROLLER } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { InflightGuard } from '../recording/inflight-guard.js';
import { type EndpointName, ErrorType, REQUEST_TYPE_STREAM, type ToolCallOutcome } from '../labels/label-values.js';
import type { LlmMetricsService } from '../recording/llm-metrics.service.js';
import { AnswerReader, type AnswerSink, judgeToolCall, toolNamesOf } from '../openai/answer-reader.js';
import {
  MAX_READ_BODY_LENGTH,
  type PayloadReader,
  type PayloadSummary,
  type TokenUsage,
  bufferOf,
  modelNamedIn,
  usageOfBody,
} from '../openai/openai-payload.js';
import { SseEventReader } from '../openai/sse-event-reader.js';
import { type TraceLink, traceLinkFromTraceparent } from '../opentelemetry/trace-context.js';
import type { LlmHttpRequest } from './llm-metrics.options.js';
import { type ResponseObserver, observeResponse } from './response-observer.js';

/** Where a request keeps its tracking, for `@RequestMetrics()` and so that it is never tracked twice. */
const REQUEST_TRACKING = Symbol('nestjs-llm-metrics.request-tracking');

type TrackedRequest = LlmHttpRequest & { [REQUEST_TRACKING]?: RequestTracking };

/** The HTTP status of an exception: `getStatus()` (Nest's) or a numeric `status` / `statusCode`. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) {
    return undefined;
  }
  const candidate = err as { getStatus?: () => unknown; status?: unknown; statusCode?: unknown };
  const status = typeof candidate.getStatus === 'function' ? candidate.getStatus() : (candidate.status ?? candidate.statusCode);
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/**
 * The outcome rules of one tracked request, in one place. Counts follow what
 * the client received: a success when the response was sent whole with a
 * status below 400 (a stream: its body ended normally), an error otherwise,
 * counted once, when the response finishes or its connection closes.
 */
export class RequestTracking implements ResponseObserver, PayloadReader, AnswerSink {
  /** An error the handler reported in-band wins over a response that ended well. */
  private inBandErrorType: ErrorType | undefined;
  /** Set when the route failed after the response's head went out: its body did not end normally. */
  private bodyFailure: ErrorType | undefined;
  /** Once the handler reports token counts itself, chunks are no longer counted. */
  private countsChunks = true;
  /** Once the handler reports them itself, the answer's finish reasons, and its tool calls, are no longer read. */
  private readsFinishReasons = true;
  private readsToolCalls = true;
  private sseReader: SseEventReader | undefined;
  /** Made for the first payload that is parsed, if the answer is read. */
  private answer: AnswerReader | undefined;
  /** With `serverTiming`: seconds from the start to the route's answer (its first value). */
  private answeredAfter: number | undefined;
  /** The names of the request's `tools`, read with the first tool call; `null` before. */
  private toolNames: ReadonlySet<string> | undefined | null = null;

  constructor(
    readonly guard: InflightGuard,
    private readonly response: ServerResponse,
    /** The request, whose body's `tools` the answer's tool calls are judged by. */
    private readonly request: LlmHttpRequest,
    /** Give a unary answer a `Server-Timing` header (the `serverTiming` option). */
    private readonly serverTiming = false,
  ) {}

  /** The tracking of `request`, if it is tracked. */
  static of(request: object): RequestTracking | undefined {
    return (request as TrackedRequest)[REQUEST_TRACKING];
  }

  observeHead(contentType: string | undefined): void {
    // An event stream is a stream, whatever the request said (every `@Sse()` route).
    if (contentType !== undefined && /^text\/event-stream\b/i.test(contentType)) {
      this.guard.markStream();
    }
    if (this.serverTiming && this.guard.requestType !== REQUEST_TYPE_STREAM && !this.response.headersSent) {
      this.addServerTiming();
    }
  }

  /** The route answered (its handler and the interceptors after this one): the time it took, for `Server-Timing`. */
  routeAnswered(): void {
    if (this.serverTiming && this.answeredAfter === undefined) {
      this.answeredAfter = this.guard.elapsedSeconds();
    }
  }

  /** `Server-Timing: total;dur=…, handler;dur=…` in ms, after any the app set: to the answer's head, and to the route's answer. */
  private addServerTiming(): void {
    const ms = (seconds: number) => (seconds * 1000).toFixed(1);
    const timings = [`total;dur=${ms(this.guard.elapsedSeconds())}`];
    if (this.answeredAfter !== undefined) {
      timings.push(`handler;dur=${ms(this.answeredAfter)}`);
    }
    const existing = this.response.getHeader('server-timing');
    this.response.setHeader('Server-Timing', [...(existing === undefined ? [] : [String(existing)]), ...timings].join(', '));
  }

  observeChunk(chunk: string | Uint8Array): void {
    if (this.guard.wantsResponseModel && chunk.length <= MAX_READ_BODY_LENGTH) {
      const model = modelNamedIn(typeof chunk === 'string' ? chunk : bufferOf(chunk).toString('utf8'));
      if (model !== undefined) {
        this.guard.recordResponseModel(model);
      }
    }
    if (this.guard.requestType === REQUEST_TYPE_STREAM) {
      this.sseReader ??= new SseEventReader(this.guard.wantsAnswer ? this : undefined);
      this.record(this.sseReader.read(chunk));
    } else if (chunk.length <= MAX_READ_BODY_LENGTH) {
      const usage = usageOfBody(chunk, this.guard.wantsAnswer ? this : undefined);
      if (usage) {
        this.guard.recordUsage(usage);
      }
    }
  }

  /** A parsed payload of the answer: its finish reasons and tool calls. */
  read(payload: Record<string, unknown>): void {
    if (this.readsFinishReasons || this.readsToolCalls) {
      this.answer ??= new AnswerReader(this, () => this.toolsOfRequest());
      this.answer.read(payload);
    }
  }

  finishReason(reason: string): void {
    if (this.readsFinishReasons) {
      this.guard.recordFinishReason(reason);
    }
  }

  toolCall(outcome: ToolCallOutcome): void {
    if (this.readsToolCalls) {
      this.guard.recordToolCall(outcome);
    }
  }

  observeFinish(statusCode: number): void {
    if (this.bodyFailure !== undefined) {
      this.finishWithError(this.bodyFailure);
    } else if (statusCode >= 400) {
      this.finishWithError(this.guard.errorTypeForStatus(statusCode));
    } else {
      this.succeed();
    }
  }

  observeAbort(clientLeft: boolean): void {
    if (clientLeft) {
      this.guard.recordDisconnect();
      this.finishWithError(ErrorType.Cancelled);
    } else {
      this.finishWithError(this.bodyFailure ?? ErrorType.Internal);
    }
  }

  /**
   * The route (its handler, or an interceptor after it) failed with `err`.
   * Before the response's head is sent, the exception filters answer and
   * their status decides; after it, the body cannot end normally.
   */
  routeFailed(err: unknown): void {
    if (this.response.headersSent) {
      const status = statusOf(err);
      this.bodyFailure = status === undefined ? ErrorType.Internal : this.guard.errorTypeForStatus(status);
    }
  }

  /** From the handler: the request failed in-band (e.g. an error event in a stream that otherwise ends well). */
  markError(errorType: ErrorType): void {
    this.inBandErrorType = errorType;
  }

  /** From the handler: the engine refused the request for lack of resources; it is counted now, as `overload`. */
  markRejected(): void {
    this.guard.reject();
  }

  /** From the handler: `count` output tokens are being sent now, content or reasoning. */
  recordTokens(count: number, kind: 'content' | 'reasoning'): void {
    this.countsChunks = false;
    this.guard.recordOutput(count, kind === 'reasoning' ? 0 : count);
  }

  /** From the handler: a finish reason of the answer; the answer's own are no longer read. */
  recordFinishReason(reason: string): void {
    this.readsFinishReasons = false;
    this.guard.recordFinishReason(reason);
  }

  /** From the handler: a tool call, judged already or to be judged; the answer's own are no longer read. */
  recordToolCall(call: ToolCallOutcome | { name: string; arguments: unknown }): void {
    this.readsToolCalls = false;
    this.guard.recordToolCall(
      typeof call === 'object' && call !== null ? judgeToolCall(call.name, call.arguments, this.toolsOfRequest()) : call,
    );
  }

  /** The names of the request's `tools` (`toolNamesOf`), read once. */
  private toolsOfRequest(): ReadonlySet<string> | undefined {
    if (this.toolNames === null) {
      this.toolNames = toolNamesOf(this.request.body);
    }
    return this.toolNames;
  }

  /** From the handler: the request's token usage. */
  recordUsage(usage: TokenUsage): void {
    this.guard.recordUsage(usage);
  }

  private record(summary: PayloadSummary): void {
    if (summary.tokens > 0 && this.countsChunks) {
      this.guard.recordOutput(summary.tokens, summary.content);
    }
    if (summary.usage) {
      this.guard.recordUsage(summary.usage);
    }
  }

  // The first outcome decides: the guard counts the request once.
  private succeed(): void {
    if (this.guard.finished) {
      return;
    }
    if (this.inBandErrorType === undefined) {
      this.guard.markOk();
    } else {
      this.guard.markError(this.inBandErrorType);
    }
    this.answer?.end(this.inBandErrorType === undefined);
    this.guard.finish();
  }

  private finishWithError(errorType: ErrorType): void {
    if (!this.guard.finished) {
      this.guard.markError(this.inBandErrorType ?? errorType);
      this.answer?.end(false);
      this.guard.finish();
    }
  }
}

// Two readers with the property named, rather than one taking its name: a
// property read by a varying name is a slow, megamorphic one in V8.
function modelOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
}

function streamOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { stream?: unknown }).stream : undefined;
}

/** A throwing extractor counts as one that found nothing. */
function read(extract: (request: LlmHttpRequest) => unknown, request: LlmHttpRequest): unknown {
  try {
    return extract(request);
  } catch {
    return undefined;
  }
}

/** How a tracker reads a request. */
export interface RequestReaders {
  modelFrom?: (request: LlmHttpRequest) => unknown;
  streamFrom?: (request: LlmHttpRequest) => unknown;
  /** With exemplars: the ids of the active span, if any (unless they are a trace's, the request's `traceparent` is read). */
  activeTrace?: () => TraceLink | undefined;
  /** Give unary answers a `Server-Timing` header. */
  serverTiming?: boolean;
}

/** Opens the tracking of requests: reads each one's model, streaming flag and trace, and watches its response. */
export class RequestTracker {
  private readonly modelFrom: ((request: LlmHttpRequest) => unknown) | undefined;
  private readonly streamFrom: ((request: LlmHttpRequest) => unknown) | undefined;
  private readonly activeTrace: (() => TraceLink | undefined) | undefined;
  private readonly serverTiming: boolean;

  constructor(
    private readonly metrics: LlmMetricsService,
    readers: RequestReaders = {},
  ) {
    this.modelFrom = readers.modelFrom;
    this.streamFrom = readers.streamFrom;
    this.activeTrace = readers.activeTrace;
    this.serverTiming = readers.serverTiming === true;
  }

  /**
   * Opens the tracking of `request`, answered through `response`, to
   * `endpoint`. `undefined` if the request is tracked already (e.g. by two
   * `@TrackLlm()` or a global interceptor as well), or if the metrics are
   * broken: the request is then served as it would be untracked.
   */
  open(request: object, response: ServerResponse, endpoint: EndpointName): RequestTracking | undefined {
    const trackedRequest = request as TrackedRequest;
    // Own properties, looked up without walking the prototype chain (Express swaps the request's prototype, and each step is slow).
    if (Object.hasOwn(trackedRequest, REQUEST_TRACKING)) {
      return undefined;
    }
    let guard: InflightGuard;
    try {
      // The body once, for the default readers.
      const body = this.modelFrom === undefined || this.streamFrom === undefined ? trackedRequest.body : undefined;
      // NestJS 12 gives an `@Sse()` route's request its abort signal before the interceptors run.
      const streaming =
        (SSE_ABORT_CONTROLLER !== undefined && Object.hasOwn(trackedRequest, SSE_ABORT_CONTROLLER)) ||
        (this.streamFrom === undefined ? streamOf(body) : read(this.streamFrom, trackedRequest)) === true;
      const model = this.modelFrom === undefined ? modelOf(body) : read(this.modelFrom, trackedRequest);
      guard = this.metrics.createInflightGuard(model, endpoint, streaming, trackedRequest);
    } catch (err) {
      this.metrics.handleRecordError(err);
      return undefined;
    }
    // The active span's trace, else the traceparent header's.
    if (this.activeTrace && !guard.linkTrace(this.activeTrace())) {
      guard.linkTrace(traceLinkFromTraceparent(trackedRequest.headers?.traceparent));
    }
    const tracking = new RequestTracking(guard, response, trackedRequest, this.serverTiming);
    trackedRequest[REQUEST_TRACKING] = tracking;
    observeResponse(response, tracking);
    return tracking;
  }
}
