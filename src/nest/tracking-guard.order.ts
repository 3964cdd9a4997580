import type { ModulesContainer } from '@nestjs/core';
import { isTrackingBound } from './handler-binding.js';
import { LlmTrackingGuard } from './llm-tracking.guard.js';

const GUARDS_METADATA = '__guards__';

/** The names of the methods of `prototype` and the prototypes it inherits from. */
export function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let current = prototype; current !== null && current !== Object.prototype; current = Object.getPrototypeOf(current)) {
    for (const name of Object.getOwnPropertyNames(current)) {
      const descriptor = Object.getOwnPropertyDescriptor(current, name);
      if (name !== 'constructor' && typeof descriptor?.value === 'function') {
        names.add(name);
      }
    }
  }
  return [...names];
}

/**
 * Moves `LlmTrackingGuard` to the end of the guards of every handler
 * `@TrackLlm()` bound its tracking to, whatever the order of the decorators:
 * a request another guard refuses is not tracked (as with an interceptor).
 * Runs while the app is created, before Nest reads the guards of its routes.
 */
export function placeTrackingGuardsLast(modules: ModulesContainer): void {
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.controllers.values()) {
      const controller = wrapper.metatype;
      if (typeof controller !== 'function' || !controller.prototype) {
        continue;
      }
      for (const name of methodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, Function>)[name];
        if (!isTrackingBound(handler)) {
          continue;
        }
        const guards: unknown[] = Reflect.getOwnMetadata(GUARDS_METADATA, handler) ?? [];
        const position = guards.indexOf(LlmTrackingGuard);
        if (position !== -1 && position !== guards.length - 1) {
          Reflect.defineMetadata(GUARDS_METADATA, [...guards.filter((guard) => guard !== LlmTrackingGuard), LlmTrackingGuard], handler);
        }
      }
    }
  }
}
