import { type DynamicModule, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { LLM_METRICS_SETUP } from './llm-metrics.constants.js';
import { type ASYNC_OPTIONS_TYPE, LlmMetricsConfigurableModule, type OPTIONS_TYPE } from './llm-metrics.module-definition.js';
import type { LlmMetricsSetup } from './llm-metrics.setup.js';
import { placeTrackingGuardsLast } from './tracking-guard.order.js';

/**
 * Prometheus metrics for an OpenAI-compatible NestJS app:
 * `LlmMetricsModule.forRoot(options?)` or `forRootAsync({ useFactory, inject, path?, controller? })`.
 * Global by default; serves the registry at `GET /metrics` unless `controller: false`.
 */
@Module({})
export class LlmMetricsModule extends LlmMetricsConfigurableModule implements OnModuleDestroy {
  /** Registers the metrics with `options` (all optional). */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Registers the metrics with options built by `useFactory`, `useClass` or
   * `useExisting` (a class implementing `LlmMetricsOptionsFactory`). `path`,
   * `controller` and `isGlobal` are given here, beside the factory.
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }

  constructor(@Inject(LLM_METRICS_SETUP) private readonly setup: LlmMetricsSetup, modules: ModulesContainer) {
    super();
    // The app's modules are all known here, and their routes not yet created.
    placeTrackingGuardsLast(modules);
  }

  onModuleDestroy(): void {
    this.setup.release();
  }
}
