/**
 * Preloaded with `node --import`: any ES module import of an
 * `@opentelemetry/*` package fails, naming the package, so a process started
 * with it shows whether this library imports OpenTelemetry. (prom-client's own
 * CommonJS `require('@opentelemetry/api')` does not pass through these hooks.)
 */
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) {
    throw new Error('forbidden import: ' + specifier + ' from ' + context.parentURL);
  }
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`);
