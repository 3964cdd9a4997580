import { MetadataScanner, type ModulesContainer } from '@nestjs/core';
import { isTrackingBound } from './handler-binding.js';
import { LlmTrackingGuard } from './llm-tracking.guard.js';
import { GUARDS_METADATA } from './nest-metadata.js';

/**
 * Moves `LlmTrackingGuard` to the end of the guards of every handler
 * `@TrackLlm()` bound its tracking to, whatever the order of the decorators:
 * a request another guard refuses is not tracked (as with an interceptor).
 * Runs while the app is created, before Nest reads the guards of its routes.
 */
export function placeTrackingGuardsLast(modules: ModulesContainer): void {
  const scanner = new MetadataScanner();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.controllers.values()) {
      const controller = wrapper.metatype;
      if (typeof controller !== 'function' || !controller.prototype) {
        continue;
      }
      for (const name of scanner.getAllMethodNames(controller.prototype)) {
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
