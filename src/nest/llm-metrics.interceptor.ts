import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, defer } from 'rxjs';
import { LlmMetricsService } from '../core/llm-metrics.service.js';
import { MODULE_OPTIONS_TOKEN } from './llm-metrics.module-definition.js';
import type { LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { RequestTrackingOpener } from './request-tracking.opener.js';
import { trackObservable } from './response-shapes/observable.tracker.js';
import { RoutePlans } from './route-plan.js';

/**
 * Records the LLM metrics of routes marked with `TRACK_LLM_METADATA`
 * through Nest's interceptor pipeline, for apps that bind it themselves
 * (`@UseInterceptors()`, or globally). `@TrackLlm()` does not need it: it
 * binds the same tracking to the handler directly, and a request it tracks
 * passes through here untouched, as do routes without the metadata.
 */
@Injectable()
export class LlmMetricsInterceptor extends RequestTrackingOpener implements NestInterceptor {
  private readonly plans: RoutePlans;

  constructor(metrics: LlmMetricsService, reflector: Reflector, @Inject(MODULE_OPTIONS_TOKEN) options: LlmMetricsModuleOptions) {
    super(metrics, options);
    this.plans = new RoutePlans(reflector);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const plan = context.getType() === 'http' ? this.plans.planFor(context.getHandler(), context.getClass()) : null;
    if (!plan) {
      return next.handle();
    }
    // Opened when Nest subscribes: an Observable nobody subscribes to opens nothing.
    return defer(() => {
      const tracking = this.openTracking(context, plan);
      return tracking ? trackObservable(next.handle(), tracking) : next.handle();
    });
  }
}
