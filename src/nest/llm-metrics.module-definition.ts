import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { LlmMetricsService } from '../core/llm-metrics.service.js';
import { DEFAULT_METRICS_PATH, LLM_METRICS_REGISTRY, LLM_METRICS_SETUP } from './llm-metrics.constants.js';
import type { LlmMetricsModuleExtras, LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { validateModuleExtras } from './llm-metrics.options-validation.js';
import { type LlmMetricsSetup, setUpLlmMetrics } from './llm-metrics.setup.js';
import { createMetricsController } from './metrics.controller.js';

const DEFAULT_EXTRAS: Required<LlmMetricsModuleExtras> = { isGlobal: true, path: DEFAULT_METRICS_PATH, controller: true, guards: [] };

export const {
  ConfigurableModuleClass: LlmMetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LlmMetricsModuleOptions>({ moduleName: 'LlmMetrics' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createLlmMetricsOptions')
  .setExtras<LlmMetricsModuleExtras>(DEFAULT_EXTRAS, addMetricsProviders)
  .build();

function addMetricsProviders(definition: DynamicModule, extras: LlmMetricsModuleExtras): DynamicModule {
  validateModuleExtras(extras);
  const { isGlobal, path, controller, guards } = { ...DEFAULT_EXTRAS, ...extras };
  const providers: Provider[] = [
    {
      provide: LLM_METRICS_SETUP,
      useFactory: (options: LlmMetricsModuleOptions) => setUpLlmMetrics(options ?? {}),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    { provide: LlmMetricsService, useFactory: (setup: LlmMetricsSetup) => setup.service, inject: [LLM_METRICS_SETUP] },
    { provide: LLM_METRICS_REGISTRY, useFactory: (setup: LlmMetricsSetup) => setup.registry, inject: [LLM_METRICS_SETUP] },
  ];
  return {
    ...definition,
    global: isGlobal,
    providers: [...(definition.providers ?? []), ...providers],
    controllers: controller ? [createMetricsController(path, guards)] : [],
    exports: [LlmMetricsService, LLM_METRICS_REGISTRY, MODULE_OPTIONS_TOKEN],
  };
}
