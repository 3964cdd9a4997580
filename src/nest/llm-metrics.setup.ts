import { Logger } from '@nestjs/common';
import { Registry, type RegistryContentType, collectDefaultMetrics } from 'prom-client';
import { LlmMetricsService } from '../core/llm-metrics.service.js';
import type { LlmMetricsModuleOptions } from './llm-metrics.options.js';
import { validateModuleOptions } from './llm-metrics.options-validation.js';

/** What one module instance set up, and how to take it down again. */
export interface LlmMetricsSetup {
  readonly service: LlmMetricsService;
  readonly registry: Registry<RegistryContentType>;
  /**
   * Finishes the requests still in flight (as `unavailable` errors), then
   * removes from the registry what the module added, so an app can be created
   * again in the same process.
   */
  release(): void;
}

/** Validates the options, creates the service and registers everything into the registry. */
export function setUpLlmMetrics(options: LlmMetricsModuleOptions): LlmMetricsSetup {
  validateModuleOptions(options);
  const registry: Registry<RegistryContentType> = options.registry ?? new Registry();
  const logger = new Logger('LlmMetrics');
  let recordErrorLogged = false;
  const service = new LlmMetricsService(options.prefix, {
    onRecordError: (err) => {
      // Once: a broken collector would otherwise log on every request.
      if (!recordErrorLogged) {
        recordErrorLogged = true;
        logger.error(
          `Recording a metric failed; requests are unaffected, but metrics may be incomplete: ${err instanceof Error ? err.message : String(err)}`,
          err instanceof Error ? err.stack : undefined,
        );
      }
    },
    models: options.models,
    maxModels: options.maxModels,
    errorType: options.errorType,
    streamingMetrics: options.streamingMetrics,
    buckets: options.buckets,
  });
  service.modelLabels.onCapReached((maxModels) =>
    logger.warn(
      `${maxModels} distinct model names reached (maxModels): further models are recorded as "unknown_model". ` +
        'Set the `models` allow-list or raise `maxModels` if this is expected.',
    ),
  );
  service.register(registry);
  if (options.defaultLabels) {
    registry.setDefaultLabels(options.defaultLabels);
  }
  const defaultMetricNames: string[] = [];
  if (options.defaultMetrics) {
    const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
    const config = options.defaultMetrics === true ? {} : options.defaultMetrics;
    collectDefaultMetrics({ ...config, register: registry });
    for (const metric of registry.getMetricsAsArray()) {
      if (!before.has(metric.name)) {
        defaultMetricNames.push(metric.name);
      }
    }
  }
  return {
    service,
    registry,
    release() {
      service.finishInflight();
      service.unregister(registry);
      for (const name of defaultMetricNames) {
        registry.removeSingleMetric(name);
      }
    },
  };
}
