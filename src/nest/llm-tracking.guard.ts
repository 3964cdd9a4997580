import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ApplicationConfig, Reflector } from '@nestjs/core';
import { LlmMetricsService } from '../core/llm-metrics.service.js';
import { hiddenRequestParamIndex, isHiddenRequestParam, isTrackingBound, isTrackingWrapper } from './handler-binding.js';
import { MODULE_OPTIONS_TOKEN } from './llm-metrics.module-definition.js';
import type { LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { RequestTrackingOpener } from './request-tracking.opener.js';
import {
  HEADERS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
  UNREFUSABLE_PARAMS,
  paramTypeOf,
} from './nest-metadata.js';
import { type RoutePlan, RoutePlans } from './route-plan.js';

interface GuardedRoutePlan extends RoutePlan {
  /** Whether something between this guard and the handler can answer the request instead (a pipe, a custom parameter decorator, an interceptor). */
  readonly mayBeTurnedAway: boolean;
}

function metadataCount(key: string, ...targets: Function[]): number {
  return targets.reduce((count, target) => count + ((Reflect.getMetadata(key, target) as unknown[] | undefined)?.length ?? 0), 0);
}

/**
 * Opens the tracking of a request to a route `@TrackLlm()` bound its
 * tracking to, as the last of the route's guards: after every guard that
 * could refuse the request, before the pipes and interceptors. The handler's
 * wrapper takes it from there; if the handler is never called, the response
 * sent instead ends it. Always lets the request through.
 */
@Injectable()
export class LlmTrackingGuard extends RequestTrackingOpener implements CanActivate {
  private readonly plans: RoutePlans<GuardedRoutePlan>;

  constructor(
    metrics: LlmMetricsService,
    reflector: Reflector,
    @Inject(MODULE_OPTIONS_TOKEN) options: LlmMetricsModuleOptions,
    private readonly config: ApplicationConfig,
  ) {
    super(metrics, options);
    // Only a handler `@TrackLlm()` wrapped is tracked here: nothing else would finish its tracking.
    this.plans = new RoutePlans(reflector, (plan, handler, controller) =>
      isTrackingBound(handler) ? { ...plan, mayBeTurnedAway: this.mayBeTurnedAway(handler, controller) } : null,
    );
  }

  canActivate(context: ExecutionContext): boolean {
    const plan = context.getType() === 'http' ? this.plans.planFor(context.getHandler(), context.getClass()) : null;
    if (plan) {
      const tracking = this.openTracking(context, plan);
      if (tracking && plan.mayBeTurnedAway && !plan.writesResponse) {
        tracking.endWithResponseIfTurnedAway();
      }
    }
    return true;
  }

  /**
   * Decided on a route's first request, once the app's global pipes and
   * interceptors are known: whether an interceptor, or a decorator that
   * wrapped the handler again, could answer in the handler's place, or a
   * pipe or custom parameter decorator refuse one of its parameters (or a
   * header value function throw).
   */
  private mayBeTurnedAway(handler: Function, controller: Function): boolean {
    if (!isTrackingWrapper(handler)) {
      // Another decorator wrapped the handler again: it may answer without calling it.
      return true;
    }
    const config = this.config;
    const interceptors =
      config.getGlobalInterceptors().length +
      (config.getGlobalRequestInterceptors?.().length ?? 0) +
      metadataCount(INTERCEPTORS_METADATA, controller, handler);
    if (interceptors > 0) {
      return true;
    }
    const headers: { value: unknown }[] = Reflect.getMetadata(HEADERS_METADATA, handler) ?? [];
    if (headers.some(({ value }) => typeof value === 'function')) {
      return true;
    }
    const routeHasPipes =
      config.getGlobalPipes().length + (config.getGlobalRequestPipes?.().length ?? 0) + metadataCount(PIPES_METADATA, controller, handler) > 0;
    const routeArgs: Record<string, { index: number; pipes?: unknown[]; factory?: unknown }> =
      Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {};
    const hidden = hiddenRequestParamIndex(handler);
    return Object.entries(routeArgs).some(([key, param]) => {
      if (param.index === hidden) {
        // Another parameter at the hidden one's index would keep the wrapper from finding the tracking.
        return !isHiddenRequestParam(handler, key);
      }
      const type = paramTypeOf(key);
      if (Number.isNaN(type) || typeof param.factory === 'function') {
        return true;
      }
      return !UNREFUSABLE_PARAMS.has(type) && (routeHasPipes || (param.pipes?.length ?? 0) > 0);
    });
  }
}
