import { SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { type EndpointName, assertEndpointName } from '../core/labels.js';
import { TRACK_LLM_METADATA } from './llm-metrics.constants.js';
import { LlmMetricsInterceptor } from './llm-metrics.interceptor.js';

/**
 * Records the LLM metrics of a route (on a method) or of every route of a
 * controller (on a class; a method's own `@TrackLlm()` wins). Each request is
 * counted once, when its response really ends.
 * @throws TypeError naming `endpoint` if it is not a valid endpoint label value.
 */
export function TrackLlm(endpoint: EndpointName): ClassDecorator & MethodDecorator {
  assertEndpointName(endpoint);
  return applyDecorators(SetMetadata(TRACK_LLM_METADATA, endpoint), UseInterceptors(LlmMetricsInterceptor));
}
