import { SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { type EndpointName, assertEndpointName } from '../labels/label-values.js';
import { LlmMetricsInterceptor, TRACK_LLM_METADATA } from './llm-metrics.interceptor.js';

/**
 * Records the LLM metrics of a route (on a method) or of every route of a
 * controller and its subclasses (on a class; a method's own `@TrackLlm()`
 * wins). Metadata and `LlmMetricsInterceptor`, nothing else: it composes
 * with any decorator, inside `applyDecorators()` or applied by hand. Each
 * request is counted once, when its response ends.
 * @throws TypeError naming `endpoint` if it is not a valid endpoint label value.
 */
export function TrackLlm(endpoint: EndpointName): ClassDecorator & MethodDecorator {
  return applyDecorators(SetMetadata(TRACK_LLM_METADATA, assertEndpointName(endpoint)), UseInterceptors(LlmMetricsInterceptor));
}
