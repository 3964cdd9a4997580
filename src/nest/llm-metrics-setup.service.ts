import { type CanActivate, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { Registry, type RegistryContentType, collectDefaultMetrics } from 'prom-client';
import type { MeterProviderLike } from '../opentelemetry/gen-ai-metrics.js';
import type { TraceLink } from '../opentelemetry/trace-context.js';
import { LlmMetricsService } from '../recording/llm-metrics.service.js';
import {
  type LlmMetricsModuleExtras,
  type LlmMetricsModuleOptions,
  splitModuleOptions,
  validateModuleOptions,
} from './llm-metrics.options.js';
import { RequestTracker } from './request-tracking.js';

/** Everything one import of `LlmMetricsModule` was given. */
type ImportOptions = LlmMetricsModuleOptions & LlmMetricsModuleExtras;

/** Two imports agree if they were given the same registry and equal other options (functions and classes: the same ones). */
function sameOptions(a: ImportOptions, b: ImportOptions): boolean {
  const { registry: registryA, ...restA } = a;
  const { registry: registryB, ...restB } = b;
  return registryA === registryB && isDeepStrictEqual(restA, restB);
}

/** What this library uses of `@opentelemetry/api`, once loaded. */
interface OpenTelemetry {
  /** The provider of the GenAI metrics, with the `openTelemetry` option. */
  readonly meterProvider: MeterProviderLike | undefined;
  /** The ids of the active span, if there is one. */
  readonly activeTrace: () => TraceLink | undefined;
}

/**
 * Loads `@opentelemetry/api` if an option needs it, and only then: the
 * `openTelemetry` option cannot do without it; `exemplars` read the active
 * span through it when it is installed, the `traceparent` header otherwise.
 * @throws Error saying to install it, with the `openTelemetry` option.
 */
async function loadOpenTelemetry(options: ImportOptions): Promise<OpenTelemetry | undefined> {
  if (!options.openTelemetry && !options.exemplars) {
    return undefined;
  }
  let api: typeof import('@opentelemetry/api');
  try {
    api = await import('@opentelemetry/api');
  } catch (err) {
    if (options.openTelemetry) {
      throw new Error('nestjs-llm-metrics: the openTelemetry option needs the @opentelemetry/api package: npm install @opentelemetry/api', {
        cause: err,
      });
    }
    return undefined;
  }
  const given = typeof options.openTelemetry === 'object' ? options.openTelemetry.meterProvider : undefined;
  return {
    meterProvider: options.openTelemetry ? (given ?? api.metrics.getMeterProvider()) : undefined,
    // Unchecked: the request's guard checks the ids, and falls back to the traceparent header.
    activeTrace: () => {
      const context = api.trace.getActiveSpan()?.spanContext();
      return context && { trace_id: context.traceId, span_id: context.spanId };
    },
  };
}

/** What the set-up made, and what it releases. */
interface Metrics {
  readonly service: LlmMetricsService;
  readonly registry: Registry<RegistryContentType>;
  readonly tracker: RequestTracker;
  readonly routeGuards: readonly CanActivate[];
  readonly defaultMetricNames: readonly string[];
}

/**
 * The LLM metrics of one app: set up by the first import of
 * `LlmMetricsModule`, shared by any other import with the same options, so
 * that requests are never counted in two places. An import with other
 * options fails at start-up.
 */
@Injectable()
export class LlmMetricsSetup implements OnModuleDestroy {
  private readonly logger = new Logger('LlmMetrics');
  private options: ImportOptions | undefined;
  private metrics: Metrics | undefined;
  /** Settles once the metrics are made (`@opentelemetry/api` may be loaded first). */
  private made: Promise<void> | undefined;

  /**
   * Sets the metrics up with `options` (validated), or checks that they are
   * those the app's metrics were set up with.
   * @throws TypeError naming an invalid option; Error if the app set its metrics up with other options.
   */
  async setUp(options: ImportOptions, routeGuards: readonly CanActivate[]): Promise<this> {
    if (this.options !== undefined) {
      if (!sameOptions(this.options, options)) {
        throw new Error(
          'nestjs-llm-metrics: LlmMetricsModule is imported more than once in this app, with different options. ' +
            'Import LlmMetricsModule.forRoot() (or forRootAsync()) once, in the root module: it is global.',
        );
      }
      await this.made;
      return this;
    }
    validateModuleOptions(options);
    this.options = options;
    this.made = this.createMetrics(options, routeGuards).then((metrics) => {
      this.metrics = metrics;
    });
    await this.made;
    return this;
  }

  /** The service recording the metrics. @throws Error before `setUp()`. */
  get service(): LlmMetricsService {
    return this.require().service;
  }

  /** The registry the metrics are registered in. @throws Error before `setUp()`. */
  get registry(): Registry<RegistryContentType> {
    return this.require().registry;
  }

  /** The registry's default labels (the `defaultLabels` option). */
  get defaultLabels(): Readonly<Record<string, string>> | undefined {
    return this.options?.defaultLabels;
  }

  /**
   * Whether the route may render the service's metrics itself: when the
   * registry's default labels are known, i.e. the module made the registry
   * or set them (`defaultLabels`). prom-client does not tell those a
   * registry was given elsewhere, so such a registry is rendered by prom-client.
   */
  get rendersItself(): boolean {
    return this.options !== undefined && (this.options.registry === undefined || this.options.defaultLabels !== undefined);
  }

  /** Opens the tracking of requests; `undefined` until the metrics are set up. */
  get tracker(): RequestTracker | undefined {
    return this.metrics?.tracker;
  }

  /** The guards of the metrics route (the `guards` option). */
  get routeGuards(): readonly CanActivate[] {
    return this.metrics?.routeGuards ?? [];
  }

  /**
   * When the app closes: finishes the requests still in flight (as
   * `unavailable` errors), then removes from the registry what was added to
   * it, so that an app can be created again with the same registry.
   */
  onModuleDestroy(): void {
    const metrics = this.metrics;
    if (!metrics) {
      return;
    }
    metrics.service.finishInflight();
    metrics.service.unregister(metrics.registry);
    for (const name of metrics.defaultMetricNames) {
      metrics.registry.removeSingleMetric(name);
    }
  }

  private require(): Metrics {
    if (!this.metrics) {
      throw new Error('nestjs-llm-metrics: the metrics are not set up yet');
    }
    return this.metrics;
  }

  private async createMetrics(options: ImportOptions, routeGuards: readonly CanActivate[]): Promise<Metrics> {
    const openTelemetry = await loadOpenTelemetry(options);
    const registry: Registry<RegistryContentType> = options.registry ?? new Registry();
    let recordErrorLogged = false;
    const { prefix, service: serviceOptions } = splitModuleOptions(options);
    const service = new LlmMetricsService(prefix, {
      ...serviceOptions,
      openTelemetry: openTelemetry?.meterProvider && {
        meterProvider: openTelemetry.meterProvider,
        providerName: typeof options.openTelemetry === 'object' ? options.openTelemetry.providerName : undefined,
      },
      onWarning: (message) => this.logger.warn(message),
      onRecordError: (err) => {
        // Once: a broken collector would otherwise log on every request.
        if (!recordErrorLogged) {
          recordErrorLogged = true;
          this.logger.error(
            `Recording a metric failed; requests are unaffected, but metrics may be incomplete: ${err instanceof Error ? err.message : String(err)}`,
            err instanceof Error ? err.stack : undefined,
          );
        }
      },
    });
    service.modelLabels.onCapReached((maxModels) =>
      this.logger.warn(
        `${maxModels} distinct model names reached (maxModels): further models are recorded as "unknown_model". ` +
          'Set the `models` allow-list or raise `maxModels` if this is expected.',
      ),
    );
    service.modelLabels.onRefused((model) =>
      this.logger.warn(
        `A model outside the \`models\` allow-list was recorded as "unknown_model": ${JSON.stringify(model.slice(0, 64))}. ` +
          'Further ones are not logged; add the name to `models` if it is one you serve.',
      ),
    );
    service.register(registry);
    if (options.defaultLabels) {
      registry.setDefaultLabels(options.defaultLabels);
    }
    const defaultMetricNames: string[] = [];
    if (options.defaultMetrics) {
      const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
      collectDefaultMetrics({ ...(options.defaultMetrics === true ? {} : options.defaultMetrics), register: registry });
      for (const metric of registry.getMetricsAsArray()) {
        if (!before.has(metric.name)) {
          defaultMetricNames.push(metric.name);
        }
      }
    }
    const tracker = new RequestTracker(service, {
      modelFrom: options.modelFrom,
      streamFrom: options.streamFrom,
      activeTrace: options.exemplars ? (openTelemetry?.activeTrace ?? (() => undefined)) : undefined,
      serverTiming: options.serverTiming,
    });
    return { service, registry, tracker, routeGuards, defaultMetricNames };
  }
}
