import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ServerResponse } from 'node:http';
import { Observable, type Observer, type Subscriber } from 'rxjs';
import type { EndpointName } from '../labels/label-values.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';
import type { RequestTracking } from './request-tracking.js';

/** Metadata key under which `@TrackLlm()` stores the endpoint label value of a route. */
export const TRACK_LLM_METADATA = 'llm_metrics:endpoint';

/** The Node.js response of a route: Express's response is one, Fastify's reply holds one as `raw`. */
function nodeResponseOf(response: unknown): ServerResponse | undefined {
  if (response instanceof ServerResponse) {
    return response;
  }
  const raw = (response as { raw?: unknown } | null | undefined)?.raw;
  return raw instanceof ServerResponse ? raw : undefined;
}

/** Passes on what the route emits, and tells the request's tracking when the route (its handler, or an interceptor after it) fails. */
class RouteFailureObserver implements Observer<unknown> {
  constructor(
    private readonly subscriber: Subscriber<unknown>,
    private readonly tracking: RequestTracking,
  ) {}

  next(value: unknown): void {
    this.tracking.routeAnswered();
    this.subscriber.next(value);
  }

  error(err: unknown): void {
    this.tracking.routeFailed(err);
    this.subscriber.error(err);
  }

  complete(): void {
    this.subscriber.complete();
  }
}

/**
 * Records the LLM metrics of the routes `@TrackLlm()` marks (it binds this
 * interceptor; binding it globally as well changes nothing): opens the
 * request's tracking before the pipes and the handler run, and lets its
 * response decide how it is counted. Other routes pass through untouched.
 */
@Injectable()
export class LlmMetricsInterceptor implements NestInterceptor {
  /** The endpoint of each route, by controller and handler: its metadata, read once. */
  private readonly endpoints = new WeakMap<object, Map<object, EndpointName | undefined>>();

  constructor(
    private readonly reflector: Reflector,
    @Optional() private readonly setup?: LlmMetricsSetup,
  ) {
    if (!setup) {
      new Logger('LlmMetrics').warn(
        '@TrackLlm() routes are served untracked here: LlmMetricsModule is not imported (import LlmMetricsModule.forRoot() in the app module).',
      );
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tracker = this.setup?.tracker;
    if (tracker === undefined || context.getType() !== 'http') {
      return next.handle();
    }
    const endpoint = this.endpointOf(context.getHandler(), context.getClass());
    const response = nodeResponseOf(context.getArgByIndex(1));
    const tracking =
      endpoint !== undefined && response !== undefined ? tracker.open(context.getArgByIndex<object>(0), response, endpoint) : undefined;
    if (tracking === undefined) {
      return next.handle();
    }
    // Rather than rxjs's `tap`: an observer object, a third of its cost per request.
    // Inside the guard's run, the handler's upstream calls (`LlmMetricsService.fetch()`) are the request's.
    const route = tracking.guard.run(() => next.handle());
    return new Observable((subscriber) => route.subscribe(new RouteFailureObserver(subscriber, tracking)));
  }

  /** The endpoint `@TrackLlm()` gave the route (the method's, else the class's), or `undefined`. */
  private endpointOf(
    handler: ReturnType<ExecutionContext['getHandler']>,
    controller: ReturnType<ExecutionContext['getClass']>,
  ): EndpointName | undefined {
    let byHandler = this.endpoints.get(controller);
    if (!byHandler) {
      byHandler = new Map();
      this.endpoints.set(controller, byHandler);
    }
    if (!byHandler.has(handler)) {
      byHandler.set(handler, this.reflector.getAllAndOverride<EndpointName | undefined>(TRACK_LLM_METADATA, [handler, controller]));
    }
    return byHandler.get(handler);
  }
}
