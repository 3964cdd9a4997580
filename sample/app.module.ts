import { type DynamicModule, Module } from '@nestjs/common';
import { LlmMetricsModule, type LlmMetricsModuleExtras, type LlmMetricsModuleOptions } from '../src/index.js';
import { MockEngineModule } from './engine/mock-engine.module.js';
import { MetricsTokenGuard } from './metrics/metrics-token.guard.js';
import { DEFAULT_MOCK_MODELS, DEFAULT_TOKEN_DELAY_MS } from './engine/mock-engine.options.js';
import { ChatCompletionsService } from './openai/chat-completions.service.js';
import { ChatSseController } from './openai/chat-sse.controller.js';
import { CompletionsService } from './openai/completions.service.js';
import { EmbeddingsService } from './openai/embeddings.service.js';
import { OpenAiController } from './openai/openai.controller.js';

/** Settings of the sample app, mostly for tests. */
export interface SampleOptions {
  /** Pause before each generated token, in ms (default: `TOKEN_DELAY_MS` from the environment, else 20). */
  tokenDelayMs?: number;
  /** The served models, also the metrics' `models` allow-list (default `['mock-llama-3-8b', 'mock-gpt-small']`). */
  models?: string[];
  /** Bearer token `/metrics` asks for (default: `METRICS_TOKEN` from the environment; unset: open). */
  metricsToken?: string;
  /** Options of `LlmMetricsModule.forRoot()`, over the sample's (e.g. `{ registry }`). */
  metrics?: Partial<LlmMetricsModuleOptions & LlmMetricsModuleExtras>;
}

/** `TOKEN_DELAY_MS` from the environment, or the default delay. */
function tokenDelayFromEnv(): number {
  const raw = process.env.TOKEN_DELAY_MS;
  if (raw === undefined || raw.trim() === '') {
    return DEFAULT_TOKEN_DELAY_MS;
  }
  const delay = Number(raw);
  if (!Number.isFinite(delay) || delay < 0) {
    throw new RangeError(`TOKEN_DELAY_MS must be a non-negative number of milliseconds, got "${raw}"`);
  }
  return delay;
}

/**
 * The sample OpenAI-compatible server: a mock engine behind `/v1`, with its
 * LLM metrics at `GET /metrics`. Build it with `AppModule.register(options)`.
 */
@Module({})
export class AppModule {
  /** The app module, configured with `options`. */
  static register(options: SampleOptions = {}): DynamicModule {
    const models = options.models ?? [...DEFAULT_MOCK_MODELS];
    const metricsToken = options.metricsToken ?? (process.env.METRICS_TOKEN || undefined);
    return {
      module: AppModule,
      imports: [
        // Only the served models get a series of their own; any other name is
        // recorded as `unknown_model`, so clients cannot create series at will.
        LlmMetricsModule.forRoot({
          models,
          // With a token, only a scraper that sends it reads the metrics.
          guards: metricsToken ? [new MetricsTokenGuard(metricsToken)] : [],
          ...options.metrics,
        }),
        MockEngineModule.register({ models, tokenDelayMs: options.tokenDelayMs ?? tokenDelayFromEnv() }),
      ],
      controllers: [OpenAiController, ChatSseController],
      providers: [ChatCompletionsService, CompletionsService, EmbeddingsService],
    };
  }
}
