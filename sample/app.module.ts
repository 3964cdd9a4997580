import { type DynamicModule, Module } from '@nestjs/common';
import {
  LlmMetricsModule,
  type LlmMetricsModuleExtras,
  type LlmMetricsModuleOptions,
  type SchemaName,
  type SloOption,
  type SloTargets,
} from '../src/index.js';
import { MockEngineModule } from './engine/mock-engine.module.js';
import { MockEngineService } from './engine/mock-engine.service.js';
import { API_KEYS, ApiKeyGuard, type TenantRequest } from './auth/api-key.guard.js';
import { MetricsTokenGuard } from './metrics/metrics-token.guard.js';
import { DEFAULT_MOCK_MODELS, DEFAULT_TOKEN_DELAY_MS } from './engine/mock-engine.options.js';
import { ChatCompletionsService } from './openai/chat-completions.service.js';
import { ChatSseController } from './openai/chat-sse.controller.js';
import { CompletionsService } from './openai/completions.service.js';
import { EmbeddingsService } from './openai/embeddings.service.js';
import { OpenAiController } from './openai/openai.controller.js';
import { ResponsesController } from './openai/responses.controller.js';
import { ResponsesService } from './openai/responses.service.js';
import { GATEWAY_PRICES, type GatewayConfig, gatewayFromEnv } from './gateway/gateway.config.js';
import { GatewayController } from './gateway/gateway.controller.js';
import { GATEWAY_CONFIG, UpstreamClient } from './gateway/upstream-client.service.js';

/** Settings of the sample app, mostly for tests. */
export interface SampleOptions {
  /** Pause before each generated token, in ms (default: `TOKEN_DELAY_MS` from the environment, else 20). */
  tokenDelayMs?: number;
  /** The served models, also the metrics' `models` allow-list (default `['mock-llama-3-8b', 'mock-gpt-small']`). */
  models?: string[];
  /** Bearer token `/metrics` asks for (default: `METRICS_TOKEN` from the environment; unset: open). */
  metricsToken?: string;
  /** Chat completions the engine serves at once; one more is answered 529 (default: `MOCK_CAPACITY` from the environment, else no limit). */
  capacity?: number;
  /** Models that fail every request with an HTTP status (default: `MOCK_FAILURES`, e.g. `mock-flaky:503,mock-busy:429`). */
  failures?: Record<string, number>;
  /**
   * API keys and their tenants (default: `API_KEYS` from the environment, e.g.
   * `sk-acme=acme,sk-beta=beta`; unset: the API is open). With keys, the
   * metrics get a `tenant` label.
   */
  apiKeys?: Record<string, string>;
  /**
   * Be a gateway to this OpenAI-compatible upstream rather than serve the mock
   * engine (default: `UPSTREAM_URL` and its companions from the environment;
   * unset: the mock engine).
   */
  upstream?: GatewayConfig;
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

/** `METRICS_SCHEMA` from the environment: the metrics' names (default `dynamo-0.2.1`). */
function schemaFromEnv(): SchemaName {
  const raw = process.env.METRICS_SCHEMA?.trim() || 'dynamo-0.2.1';
  if (raw !== 'dynamo-0.2.1' && raw !== 'dynamo-frontend') {
    throw new RangeError(`METRICS_SCHEMA must be "dynamo-0.2.1" or "dynamo-frontend", got "${raw}"`);
  }
  return raw;
}

/** A yes/no setting from the environment: `1` or `true` is yes, unset or empty is no. */
function flagFromEnv(name: string): boolean {
  const raw = process.env[name]?.trim().toLowerCase() ?? '';
  if (raw !== '' && !['1', 'true', '0', 'false'].includes(raw)) {
    throw new RangeError(`${name} must be 1, true, 0 or false, got "${process.env[name]}"`);
  }
  return raw === '1' || raw === 'true';
}

/** The service-level targets of every endpoint from `SLO_TIME_TO_FIRST_TOKEN`, `SLO_TIME_PER_OUTPUT_TOKEN` and `SLO_DURATION` (seconds), if any is set. */
function sloFromEnv(): SloOption | undefined {
  const targets: SloTargets = {};
  for (const [key, name] of [
    ['timeToFirstToken', 'SLO_TIME_TO_FIRST_TOKEN'],
    ['timePerOutputToken', 'SLO_TIME_PER_OUTPUT_TOKEN'],
    ['duration', 'SLO_DURATION'],
  ] as const) {
    const raw = process.env[name]?.trim();
    if (raw) {
      const seconds = Number(raw);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new RangeError(`${name} must be a positive number of seconds, got "${raw}"`);
      }
      targets[key] = seconds;
    }
  }
  return Object.keys(targets).length > 0 ? { default: targets } : undefined;
}

/** `MOCK_CAPACITY` from the environment, if it is set. */
function capacityFromEnv(): number | undefined {
  const raw = process.env.MOCK_CAPACITY?.trim();
  if (!raw) {
    return undefined;
  }
  const capacity = Number(raw);
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`MOCK_CAPACITY must be a positive integer, got "${raw}"`);
  }
  return capacity;
}

/** `MOCK_FAILURES` from the environment: `model:status` pairs, separated by commas. */
function failuresFromEnv(): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const pair of (process.env.MOCK_FAILURES ?? '').split(',').filter((entry) => entry.trim() !== '')) {
    const [model, status] = pair.trim().split(':');
    if (!model || !/^\d{3}$/.test(status ?? '')) {
      throw new RangeError(`MOCK_FAILURES must be model:status pairs separated by commas, got "${pair}"`);
    }
    failures[model] = Number(status);
  }
  return failures;
}

/** `API_KEYS` from the environment: `key=tenant` pairs, separated by commas. */
function apiKeysFromEnv(): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const pair of (process.env.API_KEYS ?? '').split(',').filter((entry) => entry.trim() !== '')) {
    const [key, tenant] = pair.trim().split('=');
    if (!key || !tenant) {
      throw new RangeError(`API_KEYS must be key=tenant pairs separated by commas, got "${pair}"`);
    }
    keys[key] = tenant;
  }
  return keys;
}

/**
 * The sample OpenAI-compatible server: a mock engine behind `/v1`, with its
 * LLM metrics at `GET /metrics`. Build it with `AppModule.register(options)`.
 */
@Module({})
export class AppModule {
  /** The app module, configured with `options`. */
  static register(options: SampleOptions = {}): DynamicModule {
    const gateway = options.upstream ?? gatewayFromEnv();
    const metricsToken = options.metricsToken ?? (process.env.METRICS_TOKEN || undefined);
    const apiKeys = new Map(Object.entries(options.apiKeys ?? apiKeysFromEnv()));
    const { isGlobal, path, controller, guards, labels, ...metrics } = options.metrics ?? {};
    const slo = sloFromEnv();
    const metricsOptions: LlmMetricsModuleOptions = {
      schema: schemaFromEnv(),
      // GenAI metrics through the global MeterProvider, and trace exemplars on the histograms.
      openTelemetry: flagFromEnv('METRICS_OPENTELEMETRY'),
      exemplars: flagFromEnv('METRICS_EXEMPLARS'),
      // Native histograms of the latencies, for a Prometheus started with --enable-feature=native-histograms.
      nativeHistograms: flagFromEnv('METRICS_NATIVE_HISTOGRAMS'),
      // What the answers were (finish reasons, tool calls, reasoning and cached tokens), and the time to first content token.
      answerMetrics: true,
      // Service-level objectives, counted met or missed exactly at their targets (SLO_* variables).
      ...(slo && { slo }),
      // Who used it: the tenant of the request's API key, noted by ApiKeyGuard (bounded: at most 100 tenants, forgotten after an idle hour).
      labels: { ...(apiKeys.size > 0 && { tenant: { from: (request) => (request as TenantRequest).tenant } }), ...labels },
    };
    const extras = {
      // With a token, only a scraper that sends it reads the metrics.
      guards: guards ?? (metricsToken ? [new MetricsTokenGuard(metricsToken)] : []),
      isGlobal,
      path,
      controller,
    };
    const shared = [{ provide: API_KEYS, useValue: apiKeys }, ApiKeyGuard];
    if (gateway) {
      return {
        module: AppModule,
        imports: [
          LlmMetricsModule.forRoot({
            ...metricsOptions,
            // The upstream calls (each retry too), the gateway's own time, rate limits, and the cost at the config's prices.
            upstream: { providers: [gateway.provider ?? 'openai'] },
            prices: gateway.prices ?? GATEWAY_PRICES,
            ...metrics,
            ...extras,
          }),
        ],
        controllers: [GatewayController],
        providers: [{ provide: GATEWAY_CONFIG, useValue: gateway }, UpstreamClient, ...shared],
      };
    }
    const failures = options.failures ?? failuresFromEnv();
    const models = [...new Set([...(options.models ?? DEFAULT_MOCK_MODELS), ...Object.keys(failures)])];
    // One engine module, imported here and by the metrics module, which reads its readiness.
    const engine = MockEngineModule.register({
      models,
      failures,
      capacity: options.capacity ?? capacityFromEnv(),
      tokenDelayMs: options.tokenDelayMs ?? tokenDelayFromEnv(),
    });
    return {
      module: AppModule,
      imports: [
        LlmMetricsModule.forRootAsync({
          imports: [engine],
          inject: [MockEngineService],
          useFactory: (mockEngine: MockEngineService): LlmMetricsModuleOptions => ({
            ...metricsOptions,
            // Only the served models get a series of their own; any other name is
            // recorded as `unknown_model`, so clients cannot create series at will.
            models,
            // `model_ready` of the dynamo-frontend schema, read at every scrape.
            modelReady: () => mockEngine.readiness(),
            ...metrics,
          }),
          ...extras,
        }),
        engine,
      ],
      controllers: [OpenAiController, ChatSseController, ResponsesController],
      providers: [ChatCompletionsService, CompletionsService, EmbeddingsService, ResponsesService, ...shared],
    };
  }
}
