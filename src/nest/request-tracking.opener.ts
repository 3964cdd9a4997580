import type { ExecutionContext } from '@nestjs/common';
import { ServerResponse } from 'node:http';
import type { LlmMetricsService } from '../core/llm-metrics.service.js';
import type { LlmHttpRequest, LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { REQUEST_TRACKING, RequestTracking } from './request-tracking.js';
import { observeHandledResponse } from './response-shapes/handled-response.tracker.js';
import type { RoutePlan } from './route-plan.js';

export type TrackedRequest = LlmHttpRequest & { [REQUEST_TRACKING]?: RequestTracking };

// Two readers with the property named, rather than one taking its name: a
// load by a varying name is a slow, megamorphic one in V8.
function bodyModel(request: LlmHttpRequest): unknown {
  const body = request.body as { model?: unknown } | null | undefined;
  return typeof body === 'object' && body !== null ? body.model : undefined;
}

function bodyStream(request: LlmHttpRequest): unknown {
  const body = request.body as { stream?: unknown } | null | undefined;
  return typeof body === 'object' && body !== null ? body.stream : undefined;
}

/**
 * The Node.js response of a route's arguments: Express's response is one
 * (`instanceof` finds it in a few steps, where `'raw' in` would search its
 * many properties and then every prototype); other adapters' (Fastify's
 * reply) keep it as `raw`.
 */
function rawResponseOf(response: ServerResponse | { raw: ServerResponse }): ServerResponse {
  if (response instanceof ServerResponse) {
    return response;
  }
  return 'raw' in response ? response.raw : (response as unknown as ServerResponse);
}

/**
 * What the tracking guard and the interceptor share: reading the model and
 * the streaming flag from the request, and opening the request's tracking
 * before the handler runs.
 */
export abstract class RequestTrackingOpener {
  private readonly modelFrom: (request: LlmHttpRequest) => unknown;
  private readonly streamFrom: (request: LlmHttpRequest) => unknown;

  protected constructor(
    protected readonly metrics: LlmMetricsService,
    options: LlmMetricsModuleOptions,
  ) {
    this.modelFrom = options.modelFrom ?? bodyModel;
    this.streamFrom = options.streamFrom ?? bodyStream;
  }

  /** The model of the request (default: `request.body.model`); the model-label rules apply to whatever it returns. */
  protected getModel(request: LlmHttpRequest): unknown {
    return this.read(this.modelFrom, request);
  }

  /** Whether the request asks for a stream (default: `request.body.stream === true`). `@Sse()` routes always stream. */
  protected isStreaming(request: LlmHttpRequest): boolean {
    return this.read(this.streamFrom, request) === true;
  }

  /**
   * Opens the tracking of the current request for a route planned as `plan`
   * and keeps it on the request. `undefined` if the request is tracked
   * already (e.g. by the guard and a global interceptor), or if the metrics
   * are broken: then the request is served untracked.
   */
  protected openTracking(context: ExecutionContext, plan: RoutePlan): RequestTracking | undefined {
    // The request and response of an HTTP context; `switchToHttp()` would
    // add three closures to the context on every call.
    const request = context.getArgByIndex<TrackedRequest>(0);
    if (request[REQUEST_TRACKING]) {
      return undefined;
    }
    const rawResponse = rawResponseOf(context.getArgByIndex<ServerResponse | { raw: ServerResponse }>(1));
    let tracking: RequestTracking;
    try {
      const guard = this.metrics.createInflightGuard(this.getModel(request), plan.endpoint, plan.isSse || this.isStreaming(request));
      tracking = new RequestTracking(guard, rawResponse, plan);
    } catch (err) {
      this.metrics.handleRecordError(err);
      return undefined;
    }
    request[REQUEST_TRACKING] = tracking;
    if (plan.writesResponse) {
      observeHandledResponse(rawResponse, tracking);
    }
    return tracking;
  }

  /** A throwing extractor counts as one that found nothing. */
  private read(extract: (request: LlmHttpRequest) => unknown, request: LlmHttpRequest): unknown {
    try {
      return extract(request);
    } catch {
      return undefined;
    }
  }
}
