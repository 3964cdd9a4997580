import { Inject, Injectable } from '@nestjs/common';
import OpenAI from 'openai';
import { LlmMetricsService } from '../../src/index.js';
import type { GatewayConfig } from './gateway.config.js';

/** The token of the gateway's settings. */
export const GATEWAY_CONFIG = Symbol('sample.gateway-config');

/**
 * The `openai` client the gateway calls its upstream with, through the
 * metrics' `fetch`: each call (each retry too) is recorded as an upstream
 * call of its provider, and, made from a tracked route, as that request's.
 */
@Injectable()
export class UpstreamClient {
  readonly openai: OpenAI;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig, metrics: LlmMetricsService) {
    this.openai = new OpenAI({
      baseURL: config.url,
      apiKey: config.apiKey ?? 'none',
      maxRetries: config.maxRetries ?? 2,
      fetch: metrics.fetch({ provider: config.provider ?? 'openai' }),
    });
  }
}
