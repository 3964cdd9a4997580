import type { Reflector } from '@nestjs/core';
import type { EndpointName } from '../core/labels.js';
import { TRACK_LLM_METADATA } from './llm-metrics.constants.js';
import { RESPONSE_PASSTHROUGH_METADATA, ROUTE_ARGS_METADATA, RouteParam, SSE_METADATA, paramTypeOf } from './nest-metadata.js';

/** How a route is tracked, decided once per handler from its metadata. */
export interface RoutePlan {
  readonly endpoint: EndpointName;
  /** `@Sse()`: always a stream; each emitted value is an event. */
  readonly isSse: boolean;
  /** `@Res()` / `@Next()` without passthrough: the handler writes the response itself. */
  readonly writesResponse: boolean;
}

/** The route plans of handlers, each made once per handler and controller class. */
export class RoutePlans<Plan extends RoutePlan = RoutePlan> {
  private readonly plans = new WeakMap<object, WeakMap<object, Plan | null>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly extend: (plan: RoutePlan, handler: Function, controller: Function) => Plan | null = (plan) => plan as Plan,
  ) {}

  /** The plan of `handler` on `controller`, or `null` if the route is not tracked. */
  planFor(handler: Function, controller: Function): Plan | null {
    let byController = this.plans.get(handler);
    if (!byController) {
      byController = new WeakMap();
      this.plans.set(handler, byController);
    }
    let plan = byController.get(controller);
    if (plan === undefined) {
      const base = createPlan(this.reflector, handler, controller);
      plan = base && this.extend(base, handler, controller);
      byController.set(controller, plan);
    }
    return plan;
  }
}

function createPlan(reflector: Reflector, handler: Function, controller: Function): RoutePlan | null {
  const endpoint = reflector.getAllAndOverride<EndpointName | undefined>(TRACK_LLM_METADATA, [handler, controller]);
  if (endpoint === undefined) {
    return null;
  }
  const methodName = handler.name;
  const routeArgs: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodName) ?? {};
  const takesResponse = Object.keys(routeArgs).some((key) => {
    const type = paramTypeOf(key);
    return type === RouteParam.Response || type === RouteParam.Next;
  });
  const passthrough = Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, methodName) === true;
  return {
    endpoint,
    isSse: Reflect.getMetadata(SSE_METADATA, handler) === true,
    writesResponse: takesResponse && !passthrough,
  };
}
