import { type CanActivate, ConfigurableModuleBuilder, type DynamicModule, Global, Module, type Provider, type Type } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { LlmMetricsService } from '../recording/llm-metrics.service.js';
import { LlmMetricsSetup } from './llm-metrics-setup.service.js';
import { type LlmMetricsModuleExtras, type LlmMetricsModuleOptions, validateModuleExtras } from './llm-metrics.options.js';
import { LlmMetricsController, MetricsRouteGuard } from './metrics.controller.js';

/** Injection token of the prom-client `Registry` the module's metrics are registered in. */
export const LLM_METRICS_REGISTRY = Symbol('LLM_METRICS_REGISTRY');
/** Default route of the metrics controller. */
export const DEFAULT_METRICS_PATH = '/metrics';

/** Holds the app's one `LlmMetricsSetup`, for every import of the module and the interceptor. */
@Global()
@Module({ providers: [LlmMetricsSetup], exports: [LlmMetricsSetup] })
class LlmMetricsSetupModule {}

/** The metrics route, once per app, at the path `RouterModule` gives it. */
@Module({ controllers: [LlmMetricsController], providers: [MetricsRouteGuard] })
class LlmMetricsRouteModule {}

/** This import's options applied to the app's set-up: the set-up, once they agree with the app's. */
const SET_UP_METRICS = Symbol('LlmMetricsModule:set-up');

const DEFAULT_EXTRAS: Required<LlmMetricsModuleExtras> = { isGlobal: true, path: DEFAULT_METRICS_PATH, controller: true, guards: [] };

function isGuardClass(guard: CanActivate | Type<CanActivate>): guard is Type<CanActivate> {
  return typeof guard === 'function';
}

/** The module's providers, the metrics route and the global flag, from the options given beside the options themselves. */
function defineModule(definition: DynamicModule, givenExtras: LlmMetricsModuleExtras): DynamicModule {
  validateModuleExtras(givenExtras);
  // An option given as `undefined` keeps its default.
  const given = Object.fromEntries(Object.entries(givenExtras).filter(([, value]) => value !== undefined)) as LlmMetricsModuleExtras;
  // `metrics` and `/metrics` are the same route, as they are for Nest.
  const extras = { ...DEFAULT_EXTRAS, ...given, ...(given.path !== undefined && { path: `/${given.path.replace(/^\//, '')}` }) };
  // Guard classes are created by Nest, so that they can inject what they need.
  const guardClasses = extras.guards.filter(isGuardClass);
  const providers: Provider[] = [
    ...guardClasses,
    {
      provide: SET_UP_METRICS,
      useFactory: (
        setup: LlmMetricsSetup,
        options: LlmMetricsModuleOptions | undefined,
        ...created: CanActivate[]
      ): Promise<LlmMetricsSetup> =>
        setup.setUp(
          { ...options, ...extras },
          extras.guards.map((guard) => (isGuardClass(guard) ? created[guardClasses.indexOf(guard)] : guard)),
        ),
      inject: [LlmMetricsSetup, MODULE_OPTIONS_TOKEN, ...guardClasses],
    },
    { provide: LlmMetricsService, useFactory: (setup: LlmMetricsSetup) => setup.service, inject: [SET_UP_METRICS] },
    { provide: LLM_METRICS_REGISTRY, useFactory: (setup: LlmMetricsSetup) => setup.registry, inject: [SET_UP_METRICS] },
  ];
  const route = extras.controller
    ? [LlmMetricsRouteModule, RouterModule.register([{ path: extras.path, module: LlmMetricsRouteModule }])]
    : [];
  return {
    ...definition,
    global: extras.isGlobal,
    imports: [...(definition.imports ?? []), LlmMetricsSetupModule, ...route],
    providers: [...(definition.providers ?? []), ...providers],
    exports: [LlmMetricsService, LLM_METRICS_REGISTRY, MODULE_OPTIONS_TOKEN],
  };
}

export const {
  ConfigurableModuleClass: LlmMetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LlmMetricsModuleOptions>({ moduleName: 'LlmMetrics' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createLlmMetricsOptions')
  .setExtras<LlmMetricsModuleExtras>(DEFAULT_EXTRAS, defineModule)
  .build();

/**
 * Prometheus metrics for an OpenAI-compatible NestJS app:
 * `LlmMetricsModule.forRoot(options?)` or `forRootAsync({ useFactory, inject, path?, controller? })`.
 * Global by default; serves the registry at `GET /metrics` unless `controller: false`.
 * Imported twice in one app with the same options, it shares one set of metrics.
 */
@Module({})
export class LlmMetricsModule extends LlmMetricsConfigurableModule {
  /** Registers the metrics with `options` (all optional). */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Registers the metrics with options built by `useFactory`, `useClass` or
   * `useExisting` (a class implementing `LlmMetricsOptionsFactory`). `path`,
   * `controller`, `guards` and `isGlobal` are given here, beside the factory.
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
