import { SetMetadata, UseGuards } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import { type EndpointName, assertEndpointName } from '../core/labels.js';
import { bindTrackingToHandler, isTrackingBound } from './handler-binding.js';
import { TRACK_LLM_METADATA } from './llm-metrics.constants.js';
import { LlmTrackingGuard } from './llm-tracking.guard.js';
import { PATH_METADATA } from './nest-metadata.js';

/** Binds the tracking to the route handler `prototype[name]` and guards it with `LlmTrackingGuard`. */
function bindRoute(prototype: object, name: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor {
  const bound = bindTrackingToHandler(prototype, name, descriptor);
  if (bound !== descriptor) {
    UseGuards(LlmTrackingGuard)(prototype, name, bound);
  }
  return bound;
}

/**
 * Records the LLM metrics of a route (on a method) or of every route of a
 * controller (on a class; a method's own `@TrackLlm()` wins). Each request is
 * counted once, when its response really ends. The tracking is bound to the
 * handler directly (a wrapper and a guard that runs after the route's other
 * guards), not through Nest's interceptor pipeline.
 * @throws TypeError naming `endpoint` if it is not a valid endpoint label value.
 */
export function TrackLlm(endpoint: EndpointName): ClassDecorator & MethodDecorator {
  assertEndpointName(endpoint);
  const setEndpoint = SetMetadata(TRACK_LLM_METADATA, endpoint);
  return ((target: object, name?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      const bound = bindRoute(target, name as string | symbol, descriptor);
      setEndpoint(target, name as string | symbol, bound);
      return bound;
    }
    setEndpoint(target as Function);
    const prototype = (target as Function).prototype as Record<string, unknown>;
    // The methods Nest routes: the prototype's and those it inherits.
    for (const method of new MetadataScanner().getAllMethodNames(prototype)) {
      const handler = prototype[method] as Function;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined || isTrackingBound(handler)) {
        continue;
      }
      const own = Object.getOwnPropertyDescriptor(prototype, method);
      const descriptor = own ?? { value: handler, writable: true, enumerable: false, configurable: true };
      Object.defineProperty(prototype, method, bindRoute(prototype, method, descriptor));
    }
    return undefined;
  }) as ClassDecorator & MethodDecorator;
}
