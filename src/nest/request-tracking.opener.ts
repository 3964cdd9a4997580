import type { ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { LlmMetricsService } from '../core/llm-metrics.service.js';
import type { LlmHttpRequest, LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { REQUEST_TRACKING, RequestTracking } from './request-tracking.js';
import { observeHandledResponse } from './response-shapes/handled-response.tracker.js';
import type { RoutePlan } from './route-plan.js';

export type TrackedRequest = LlmHttpRequest & { [REQUEST_TRACKING]?: RequestTracking };

function bodyField(request: LlmHttpRequest, field: 'model' | 'stream'): unknown {
  const body = request.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
}

/**
 * What the tracking guard and the interceptor share: reading the model and
 * the streaming flag from the request, and opening the request's tracking
 * before the handler runs.
 */
export abstract class RequestTrackingOpener {
  private readonly modelFrom: ((request: LlmHttpRequest) => unknown) | undefined;
  private readonly streamFrom: ((request: LlmHttpRequest) => unknown) | undefined;

  protected constructor(
    protected readonly metrics: LlmMetricsService,
    options: LlmMetricsModuleOptions,
  ) {
    this.modelFrom = options.modelFrom;
    this.streamFrom = options.streamFrom;
  }

  /** The model of the request (default: `request.body.model`); the model-label rules apply to whatever it returns. */
  protected getModel(request: LlmHttpRequest): unknown {
    return this.read(this.modelFrom, request, 'model');
  }

  /** Whether the request asks for a stream (default: `request.body.stream === true`). `@Sse()` routes always stream. */
  protected isStreaming(request: LlmHttpRequest): boolean {
    return this.read(this.streamFrom, request, 'stream') === true;
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
    const response = context.getArgByIndex<ServerResponse | { raw: ServerResponse }>(1);
    const rawResponse = 'raw' in response ? response.raw : response;
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
  private read(extract: ((request: LlmHttpRequest) => unknown) | undefined, request: LlmHttpRequest, field: 'model' | 'stream'): unknown {
    try {
      return extract ? extract(request) : bodyField(request, field);
    } catch {
      return undefined;
    }
  }
}
