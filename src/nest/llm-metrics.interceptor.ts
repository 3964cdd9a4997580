import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import type { InflightGuard } from '../core/inflight.guard.js';
import type { EndpointName } from '../core/labels.js';
import { LlmMetricsService } from '../core/llm-metrics.service.js';
import { TRACK_LLM_METADATA } from './llm-metrics.constants.js';
import { MODULE_OPTIONS_TOKEN } from './llm-metrics.module-definition.js';
import type { LlmHttpRequest, LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { REQUEST_TRACKING, RequestTracking } from './request-tracking.js';
import { observeHandledResponse } from './response-shapes/handled-response.tracker.js';
import { isStreamingBody, trackStreamingBody } from './response-shapes/streaming-body.tracker.js';

/** How a route is tracked, decided once per handler from its metadata. */
interface RoutePlan {
  readonly endpoint: EndpointName;
  /** `@Sse()`: always a stream; each emitted value is an event. */
  readonly isSse: boolean;
  /** `@Res()` / `@Next()` without passthrough: the handler writes the response itself. */
  readonly writesResponse: boolean;
}

type TrackedRequest = LlmHttpRequest & { [REQUEST_TRACKING]?: RequestTracking };

// Nest's metadata keys (stable since Nest 8), read directly so as not to
// depend on Nest's internal exports.
const ROUTE_ARGS_METADATA = '__routeArguments__';
const RESPONSE_PASSTHROUGH_METADATA = '__responsePassthrough__';
const SSE_METADATA = '__sse__';
const RESPONSE_PARAM = 1;
const NEXT_PARAM = 2;

function bodyField(request: LlmHttpRequest, field: 'model' | 'stream'): unknown {
  const body = request.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
}

/**
 * Records the LLM metrics of the routes `@TrackLlm()` marks: opens an
 * `InflightGuard` before the handler runs and finishes it exactly once, when
 * the response really ends (completed, failed, streamed out, or abandoned),
 * recording the streaming metrics of what the response carried on the way.
 * Routes without `@TrackLlm()` metadata pass through untouched.
 */
@Injectable()
export class LlmMetricsInterceptor implements NestInterceptor {
  private readonly plans = new WeakMap<object, WeakMap<object, RoutePlan | null>>();
  private readonly modelFrom: ((request: LlmHttpRequest) => unknown) | undefined;
  private readonly streamFrom: ((request: LlmHttpRequest) => unknown) | undefined;

  constructor(
    private readonly metrics: LlmMetricsService,
    private readonly reflector: Reflector,
    @Inject(MODULE_OPTIONS_TOKEN) options: LlmMetricsModuleOptions,
  ) {
    this.modelFrom = options.modelFrom;
    this.streamFrom = options.streamFrom;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const plan = context.getType() === 'http' ? this.planFor(context) : null;
    if (!plan) {
      return next.handle();
    }
    const http = context.switchToHttp();
    const request = http.getRequest<TrackedRequest>();
    if (request[REQUEST_TRACKING]) {
      // Already tracked (e.g. `@TrackLlm()` on both the class and the method).
      return next.handle();
    }
    const response = http.getResponse<ServerResponse | { raw: ServerResponse }>();
    const rawResponse = 'raw' in response ? response.raw : response;
    return new Observable((subscriber) => {
      let guard: InflightGuard;
      try {
        guard = this.metrics.createInflightGuard(this.getModel(request), plan.endpoint, plan.isSse || this.isStreaming(request));
      } catch (err) {
        // The metrics are broken, not the request: serve it untracked.
        this.metrics.handleRecordError(err);
        return next.handle().subscribe(subscriber);
      }
      const tracking = new RequestTracking(guard, rawResponse);
      request[REQUEST_TRACKING] = tracking;
      // Once the response or a streamed body owns the outcome, the handler's
      // Observable completing no longer ends the request.
      let outcomeHandedOver = plan.writesResponse;
      if (plan.writesResponse) {
        observeHandledResponse(rawResponse, tracking);
      }
      const subscription = next.handle().subscribe({
        next: (value: unknown) => {
          if (plan.isSse) {
            tracking.observeEvent(value);
          } else if (!outcomeHandedOver && isStreamingBody(value)) {
            outcomeHandedOver = true;
            value = trackStreamingBody(value, tracking);
          } else {
            tracking.observeValue(value);
          }
          subscriber.next(value);
        },
        error: (err: unknown) => {
          tracking.fail(err);
          subscriber.error(err);
        },
        complete: () => {
          if (!outcomeHandedOver) {
            // Nest does not abandon a handler that returned a Promise when its
            // client leaves: an answer that can no longer be delivered is cancelled.
            tracking.complete();
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        // Unsubscribed before completing: the client went away.
        if (!outcomeHandedOver) {
          tracking.cancel();
        }
      };
    });
  }

  /** The model of the request (default: `request.body.model`); the model-label rules apply to whatever it returns. */
  protected getModel(request: LlmHttpRequest): unknown {
    return this.read(this.modelFrom, request, 'model');
  }

  /** Whether the request asks for a stream (default: `request.body.stream === true`). `@Sse()` routes always stream. */
  protected isStreaming(request: LlmHttpRequest): boolean {
    return this.read(this.streamFrom, request, 'stream') === true;
  }

  /** A throwing extractor counts as one that found nothing. */
  private read(extract: ((request: LlmHttpRequest) => unknown) | undefined, request: LlmHttpRequest, field: 'model' | 'stream'): unknown {
    try {
      return extract ? extract(request) : bodyField(request, field);
    } catch {
      return undefined;
    }
  }

  private planFor(context: ExecutionContext): RoutePlan | null {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.plans.get(handler);
    if (!byController) {
      byController = new WeakMap();
      this.plans.set(handler, byController);
    }
    let plan = byController.get(controller);
    if (plan === undefined) {
      plan = this.createPlan(handler, controller);
      byController.set(controller, plan);
    }
    return plan;
  }

  private createPlan(handler: Function, controller: Function): RoutePlan | null {
    const endpoint = this.reflector.getAllAndOverride<EndpointName | undefined>(TRACK_LLM_METADATA, [handler, controller]);
    if (endpoint === undefined) {
      return null;
    }
    const methodName = handler.name;
    const routeArgs: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodName) ?? {};
    const takesResponse = Object.keys(routeArgs).some((key) => {
      const type = Number(key.split(':')[0]);
      return type === RESPONSE_PARAM || type === NEXT_PARAM;
    });
    const passthrough = Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, methodName) === true;
    return {
      endpoint,
      isSse: Reflect.getMetadata(SSE_METADATA, handler) === true,
      writesResponse: takesResponse && !passthrough,
    };
  }
}
