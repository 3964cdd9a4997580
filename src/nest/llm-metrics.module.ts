import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { LLM_METRICS_SETUP } from './llm-metrics.constants.js';
import { LlmMetricsConfigurableModule } from './llm-metrics.module-definition.js';
import type { LlmMetricsSetup } from './llm-metrics.setup.js';

/**
 * Prometheus metrics for an OpenAI-compatible NestJS app:
 * `LlmMetricsModule.forRoot(options?)` or `forRootAsync({ useFactory, inject, path?, controller? })`.
 * Global by default; serves the registry at `GET /metrics` unless `controller: false`.
 */
@Module({})
export class LlmMetricsModule extends LlmMetricsConfigurableModule implements OnModuleDestroy {
  constructor(@Inject(LLM_METRICS_SETUP) private readonly setup: LlmMetricsSetup) {
    super();
  }

  onModuleDestroy(): void {
    this.setup.release();
  }
}
