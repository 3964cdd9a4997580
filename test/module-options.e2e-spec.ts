import {
  Body,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Counter, Gauge, Registry, register as globalRegister } from 'prom-client';
import {
  Endpoint,
  LLM_METRICS_REGISTRY,
  LlmMetricsInterceptor,
  LlmMetricsModule,
  type LlmMetricsModuleOptions,
  type LlmMetricsOptionsFactory,
  LlmMetricsService,
  TrackLlm,
} from '../src/index.js';
import { ChatFeatureModule } from './app/chat.feature.js';
import { samplesOf, sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, RecordingLogger, type RunningApp, listen, postJson, scrape, startApp } from './support/http.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
/** A request label's reader that always finds `a`. */
const constantA = (): string => 'a';
const chatSuccess = { endpoint: 'chat_completions', request_type: 'unary', status: 'success' };

function appWith(metrics: ReturnType<typeof LlmMetricsModule.forRoot>) {
  @Module({ imports: [metrics, ChatFeatureModule] })
  class AppModule {}
  return AppModule;
}

/** A feature module with a tracked route of its own, importing `metrics` itself. */
function featureImporting(metrics: DynamicModule) {
  @Controller('feature')
  class FeatureController {
    @Post()
    @HttpCode(200)
    @TrackLlm(Endpoint.Completions)
    complete(@Body() body: { model: string }) {
      return { model: body.model };
    }
  }
  @Module({ imports: [metrics], controllers: [FeatureController] })
  class FeatureModule {}
  return FeatureModule;
}

async function chat(app: RunningApp, body: unknown, path = '/v1/chat/completions') {
  const res = await postJson(app.baseUrl, path, body);
  expect(res.status).toBe(200);
}

describe.each(ADAPTERS)('LlmMetricsModule (%s)', (adapter) => {
  const running: RunningApp[] = [];
  const start = async (module: Parameters<typeof startApp>[0]) => {
    const app = await startApp(module, { adapter });
    running.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  describe('forRoot()', () => {
    it('serves the exposition at GET /metrics with the versioned text content type', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot()));
      await chat(app, { model: 'm' });
      const response = await fetch(`${app.baseUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(valueOf(await response.text(), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
    });

    it('is global: a decorated controller in a feature module that does not import it is tracked', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot()));
      await chat(app, { model: 'feature' });
      expect(valueOf(await scrape(app.baseUrl), REQUESTS, { model: 'feature', ...chatSuccess })).toBe(1);
    });

    it('mounts the route at a custom path, and only there', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ path: '/internal/prometheus' })));
      await chat(app, { model: 'm' });
      expect(valueOf(await scrape(app.baseUrl, '/internal/prometheus'), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
    });

    it('mounts no route with controller: false, and lets the app serve the registry itself', async () => {
      @Controller()
      class OwnMetricsController {
        constructor(@Inject(LLM_METRICS_REGISTRY) private readonly registry: Registry) {}
        @Get('own-metrics')
        scrape() {
          return this.registry.metrics();
        }
      }
      @Module({ imports: [LlmMetricsModule.forRoot({ controller: false }), ChatFeatureModule], controllers: [OwnMetricsController] })
      class AppModule {}
      const app = await start(AppModule);
      await chat(app, { model: 'm' });
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      expect(valueOf(await scrape(app.baseUrl, '/own-metrics'), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
    });

    it('puts the metrics route behind the guards it is given', async () => {
      const bearer = {
        canActivate: (context: ExecutionContext) =>
          context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers.authorization === 'Bearer s3cret',
      };
      const app = await start(appWith(LlmMetricsModule.forRoot({ guards: [bearer] })));
      await chat(app, { model: 'm' });
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(403);
      expect((await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
      const allowed = await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: 'Bearer s3cret' } });
      expect(allowed.status).toBe(200);
      expect(valueOf(await allowed.text(), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
    });

    it('uses the prefix option', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ prefix: 'acme' })));
      await chat(app, { model: 'm' });
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, 'acme_http_service_requests_total', { model: 'm', ...chatSuccess })).toBe(1);
      expect(text).not.toContain('nv_llm_');
    });

    it('adds defaultLabels to every series', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ defaultLabels: { instance: 'replica-a' } })));
      await chat(app, { model: 'm' });
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, REQUESTS, { model: 'm', ...chatSuccess, instance: 'replica-a' })).toBe(1);
      expect(valueOf(text, 'nv_llm_http_service_inflight_requests', { model: 'm', instance: 'replica-a' })).toBe(0);
    });

    it('collects Node.js process metrics with defaultMetrics: true, and not by default', async () => {
      const withDefaults = await start(appWith(LlmMetricsModule.forRoot({ defaultMetrics: true })));
      expect(await scrape(withDefaults.baseUrl)).toContain('process_cpu_user_seconds_total');
      const without = await start(appWith(LlmMetricsModule.forRoot()));
      expect(await scrape(without.baseUrl)).not.toContain('process_cpu_user_seconds_total');
    });

    it('shares a registry it is given, and releases it on close so the app can be created again', async () => {
      for (let round = 1; round <= 2; round++) {
        const app = await startApp(appWith(LlmMetricsModule.forRoot({ registry: globalRegister, defaultMetrics: true })), { adapter });
        await chat(app, { model: 'shared' });
        expect(valueOf(await globalRegister.metrics(), REQUESTS, { model: 'shared', ...chatSuccess })).toBe(1);
        await app.close();
        expect(globalRegister.getSingleMetric(REQUESTS)).toBeUndefined();
        expect(globalRegister.getSingleMetric('process_cpu_user_seconds_total')).toBeUndefined();
      }
    });

    it('records models outside the allow-list as unknown_model, and logs the first one, escaped', async () => {
      const logger = new RecordingLogger();
      const app = await startApp(appWith(LlmMetricsModule.forRoot({ models: ['served'] })), { adapter, logger });
      running.push(app);
      await chat(app, { model: 'served' });
      await chat(app, { model: 'not-served\nforged log line' });
      await chat(app, { model: 'not-served-either' });
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, REQUESTS, { model: 'served', ...chatSuccess })).toBe(1);
      expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...chatSuccess })).toBe(2);
      expect(text).not.toContain('not-served');
      const warnings = logger.of('warn', 'LlmMetrics').map(({ message }) => String(message));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('"not-served\\nforged log line"');
      expect(warnings[0]).not.toContain('\n');
    });

    it('caps distinct model names at maxModels', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ maxModels: 3 })));
      for (let i = 0; i < 10; i++) {
        await chat(app, { model: `model-${i}` });
      }
      const text = await scrape(app.baseUrl);
      const models = new Set(text.split('\n').flatMap((line) => /model="([^"]*)"/.exec(line)?.[1] ?? []));
      expect([...models].sort()).toEqual(['model-0', 'model-1', 'model-2', 'unknown_model']);
      expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...chatSuccess })).toBe(7);
    });

    it.each([
      ['missing', {}],
      ['a number', { model: 12 }],
      ['an object', { model: { name: 'x' } }],
      ['empty', { model: '' }],
      ['257 characters long', { model: 'm'.repeat(257) }],
    ])('records a model that is %s as unknown_model', async (_, body) => {
      const app = await start(appWith(LlmMetricsModule.forRoot()));
      await chat(app, body);
      expect(valueOf(await scrape(app.baseUrl), REQUESTS, { model: 'unknown_model', ...chatSuccess })).toBe(1);
    });

    it('reads the model and stream flag with custom extractors; one that throws finds nothing', async () => {
      const options: LlmMetricsModuleOptions = {
        modelFrom: (request) => {
          const header = request.headers?.['x-model'];
          if (header === 'explode') {
            throw new Error('extractor bug');
          }
          return header;
        },
        streamFrom: (request) => (request.query as Record<string, string>).stream === '1',
      };
      const app = await start(appWith(LlmMetricsModule.forRoot(options)));
      const send = (model: string, query = '') =>
        fetch(`${app.baseUrl}/v1/chat/completions${query}`, {
          method: 'POST',
          headers: { 'x-model': model, 'content-type': 'application/json' },
          body: '{"model":"ignored"}',
        });
      await send('from-header', '?stream=1');
      await send('explode');
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, REQUESTS, { model: 'from-header', ...chatSuccess, request_type: 'stream' })).toBe(1);
      expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...chatSuccess })).toBe(1);
    });

    it('takes streaming buckets from the options', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ buckets: { outputSequenceTokens: [10, 20] } })));
      const registry = app.app.get<Registry>(LLM_METRICS_REGISTRY);
      const guard = app.app.get(LlmMetricsService).createInflightGuard('m', 'completions', false);
      guard.recordUsage({ prompt_tokens: 1, completion_tokens: 1 });
      guard.markOk();
      guard.finish();
      // The bounds of a histogram's buckets, as the route and prom-client's registry show them.
      const bounds = (text: string, name: string) => samplesOf(text, `nv_llm_http_service_${name}_bucket`).map(({ labels }) => labels.le);
      for (const text of [await scrape(app.baseUrl), await registry.metrics()]) {
        expect(bounds(text, 'output_sequence_tokens')).toEqual(['10', '20', '+Inf']);
        expect(bounds(text, 'input_sequence_tokens')).toEqual([
          '0',
          '50',
          '100',
          '500',
          '1000',
          '2000',
          '4000',
          '8000',
          '16000',
          '32000',
          '64000',
          '128000',
          '+Inf',
        ]);
      }
    });

    it('answers 500 "Failed to encode metrics" when a metric of the registry cannot be read, and recovers', async () => {
      const registry = new Registry();
      let failing = true;
      new Gauge({
        name: 'app_broken',
        help: 'A collector that throws',
        registers: [registry],
        collect() {
          if (failing) {
            throw new Error('collector broke');
          }
        },
      });
      const app = await start(appWith(LlmMetricsModule.forRoot({ registry })));
      for (const accept of [undefined, 'application/openmetrics-text; version=1.0.0']) {
        const failed = await fetch(`${app.baseUrl}/metrics`, { headers: accept ? { accept } : {} });
        expect(failed.status).toBe(500);
        expect(await failed.text()).toBe('Failed to encode metrics');
      }
      failing = false;
      await chat(app, { model: 'm' });
      expect(valueOf(await scrape(app.baseUrl), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
    });

    it.each([
      ['prefix', { prefix: 'bad-prefix' }, /option "prefix".*"bad-prefix"/],
      ['maxModels', { maxModels: 0 }, /option "maxModels".*0/],
      ['models', { models: 'all' }, /option "models".*"all"/],
      ['modelFrom', { modelFrom: 'body.model' }, /option "modelFrom".*"body.model"/],
      ['streamFrom', { streamFrom: true }, /option "streamFrom".*true/],
      ['registry', { registry: {} }, /option "registry"/],
      ['defaultLabels', { defaultLabels: { instance: 1 } }, /option "defaultLabels"/],
      ['errorType', { errorType: 'yes' }, /option "errorType".*"yes"/],
      ['buckets', { buckets: { timeToFirstToken: [1, 0.5] } }, /option "buckets.timeToFirstToken".*\[1, 0.5\]/],
      ['buckets key', { buckets: { ttft: [1] } }, /option "buckets" must be an object with the keys/],
      ['label name', { labels: { status: { from: constantA } } }, /option "labels" must be keyed by names other than .*"status"/],
      ['label metrics', { labels: { tenant: { from: constantA, metrics: ['tokens'] } } }, /option "labels.tenant.metrics".*\["tokens"\]/],
      [
        'label clashing with defaultLabels',
        { defaultLabels: { tenant: 'a' }, labels: { tenant: { from: constantA } } },
        /option "labels" must be keyed by names other than those of defaultLabels, got "tenant"/,
      ],
      ['labelTtl', { labels: { tenant: { from: constantA } }, labelTtl: -1 }, /option "labelTtl".*-1/],
    ])('fails at start-up on an invalid %s, naming it', async (_, options, message) => {
      await expect(
        Test.createTestingModule({ imports: [LlmMetricsModule.forRoot(options as LlmMetricsModuleOptions)] }).compile(),
      ).rejects.toThrow(message);
    });

    it('fails at start-up on a registry that already holds its metric names, naming the metric', async () => {
      const registry = new Registry();
      new Counter({ name: 'nv_llm_http_service_requests_total', help: 'someone else', registers: [registry] });
      await expect(Test.createTestingModule({ imports: [LlmMetricsModule.forRoot({ registry })] }).compile()).rejects.toThrow(
        /already holds a metric named "nv_llm_http_service_requests_total"/,
      );
    });

    it('fails on invalid guards, naming the option', () => {
      expect(() => LlmMetricsModule.forRoot({ guards: ['auth' as never] })).toThrow(/option "guards"/);
    });

    it('fails on an invalid path, naming it', () => {
      expect(() => LlmMetricsModule.forRoot({ path: 'metrics?x' })).toThrow(/option "path".*"metrics\?x"/);
      expect(() => LlmMetricsModule.forRoot({ path: '' })).toThrow(/option "path"/);
    });

    it('takes a path without its leading slash, as Nest does, and an import with the slash agrees with it', async () => {
      const app = await start(appWith(LlmMetricsModule.forRoot({ path: 'internal/metrics' })));
      await chat(app, { model: 'm' });
      expect(valueOf(await scrape(app.baseUrl, '/internal/metrics'), REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
      const both = await start(appWith(LlmMetricsModule.forRoot({ path: 'metrics' })));
      expect((await fetch(`${both.baseUrl}/metrics`)).status).toBe(200);
    });

    it.each([
      ['a misspelt option', { errortype: true }, /unknown option "errortype": did you mean "errorType"\?/],
      [
        'a misspelt request-label option',
        { labels: { tenant: { form: constantA } } },
        /unknown option "labels.tenant.form": did you mean "from"\?/,
      ],
      [
        'a misspelt native-histogram option',
        { nativeHistograms: { schem: 3 } },
        /unknown option "nativeHistograms.schem": did you mean "schema"\?/,
      ],
      ['an option of no likeness', { colour: 'blue' }, /unknown option "colour"; the options are schema, prefix, /],
    ])('fails at start-up on %s, naming it and the nearest option', async (_, options, message) => {
      await expect(
        Test.createTestingModule({ imports: [LlmMetricsModule.forRoot(options as LlmMetricsModuleOptions)] }).compile(),
      ).rejects.toThrow(message);
    });
  });

  describe('forRootAsync()', () => {
    @Injectable()
    class MetricsConfig implements LlmMetricsOptionsFactory {
      readonly prefix = 'async_app';
      createLlmMetricsOptions(): LlmMetricsModuleOptions {
        return { prefix: 'from_class' };
      }
    }
    @Module({ providers: [MetricsConfig], exports: [MetricsConfig] })
    class ConfigModule {}

    it('builds the options with useFactory and inject, and takes path from the async options', async () => {
      const app = await start(
        appWith(
          LlmMetricsModule.forRootAsync({
            imports: [ConfigModule],
            inject: [MetricsConfig],
            useFactory: (config: MetricsConfig) => ({ prefix: config.prefix, defaultLabels: { source: 'factory' } }),
            path: '/async-metrics',
          }),
        ),
      );
      await chat(app, { model: 'm' });
      const text = await scrape(app.baseUrl, '/async-metrics');
      expect(valueOf(text, 'async_app_http_service_requests_total', { model: 'm', ...chatSuccess, source: 'factory' })).toBe(1);
    });

    it('fails at start-up on a misspelt option the factory returns, which TypeScript cannot see', async () => {
      await expect(
        Test.createTestingModule({
          imports: [LlmMetricsModule.forRootAsync({ useFactory: () => ({ maxmodels: 5 }) as LlmMetricsModuleOptions })],
        }).compile(),
      ).rejects.toThrow(/unknown option "maxmodels": did you mean "maxModels"\?/);
    });

    it('accepts useClass', async () => {
      const app = await start(appWith(LlmMetricsModule.forRootAsync({ useClass: MetricsConfig })));
      await chat(app, { model: 'm' });
      expect(valueOf(await scrape(app.baseUrl), 'from_class_http_service_requests_total', { model: 'm', ...chatSuccess })).toBe(1);
    });

    it('accepts useExisting, and controller: false', async () => {
      const app = await start(
        appWith(LlmMetricsModule.forRootAsync({ imports: [ConfigModule], useExisting: MetricsConfig, controller: false })),
      );
      await chat(app, { model: 'm' });
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      const service = running[0].app.get(LlmMetricsService);
      expect(service.prefix).toBe('from_class');
    });
  });

  describe('imported more than once, or not at all', () => {
    it('shares one set of metrics, and one route, between two imports with the same options', async () => {
      @Module({
        imports: [
          LlmMetricsModule.forRoot({ models: ['m'] }),
          ChatFeatureModule,
          featureImporting(LlmMetricsModule.forRoot({ models: ['m'] })),
        ],
      })
      class AppModule {}
      const app = await start(AppModule);
      await chat(app, { model: 'm' });
      await chat(app, { model: 'm' }, '/feature');
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
      expect(valueOf(text, REQUESTS, { model: 'm', ...chatSuccess, endpoint: 'completions' })).toBe(1);
      const services = app.app.get(LlmMetricsService, { strict: false, each: true });
      expect(services).toHaveLength(2);
      expect(services[1]).toBe(services[0]);
    });

    it('shares one set of metrics between two forRootAsync() imports whose factories agree', async () => {
      const metrics = () => LlmMetricsModule.forRootAsync({ useFactory: () => ({ prefix: 'agreed' }), path: '/agreed' });
      @Module({ imports: [metrics(), ChatFeatureModule, featureImporting(metrics())] })
      class AppModule {}
      const app = await start(AppModule);
      await chat(app, { model: 'm' });
      await chat(app, { model: 'm' }, '/feature');
      expect(sumOf(await scrape(app.baseUrl, '/agreed'), 'agreed_http_service_requests_total')).toBe(2);
    });

    it('fails at start-up when two imports have different options, saying to import it once', async () => {
      @Module({ imports: [LlmMetricsModule.forRoot({ models: ['m'] }), featureImporting(LlmMetricsModule.forRoot({ models: ['n'] }))] })
      class AppModule {}
      await expect(Test.createTestingModule({ imports: [AppModule] }).compile()).rejects.toThrow(
        /LlmMetricsModule is imported more than once in this app, with different options\. Import LlmMetricsModule\.forRoot\(\) \(or forRootAsync\(\)\) once/,
      );
    });

    it('lets a controller with @TrackLlm() compile without the module, serves it untracked, and says why once', async () => {
      const logger = new RecordingLogger();
      const moduleRef = await Test.createTestingModule({ imports: [ChatFeatureModule] })
        .setLogger(logger)
        .compile();
      const app = await listen(moduleRef, { adapter, logger });
      running.push(app);
      await chat(app, { model: 'm' });
      await chat(app, { model: 'm' });
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      const warnings = logger.of('warn', 'LlmMetrics');
      expect(warnings.map((entry) => entry.message)).toEqual([
        '@TrackLlm() routes are served untracked here: LlmMetricsModule is not imported (import LlmMetricsModule.forRoot() in the app module).',
      ]);
    });
  });

  it('keeps two apps in one process apart: their own paths, registries and counts', async () => {
    const a = await start(appWith(LlmMetricsModule.forRoot({ path: '/metrics-a' })));
    const b = await start(appWith(LlmMetricsModule.forRoot({ path: '/metrics-b' })));
    await chat(a, { model: 'shared-name' });
    await chat(a, { model: 'shared-name' });
    await chat(b, { model: 'shared-name' });
    expect((await fetch(`${a.baseUrl}/metrics-b`)).status).toBe(404);
    expect((await fetch(`${b.baseUrl}/metrics-a`)).status).toBe(404);
    expect(valueOf(await scrape(a.baseUrl, '/metrics-a'), REQUESTS, { model: 'shared-name', ...chatSuccess })).toBe(2);
    expect(valueOf(await scrape(b.baseUrl, '/metrics-b'), REQUESTS, { model: 'shared-name', ...chatSuccess })).toBe(1);
    expect(sumOf(await scrape(b.baseUrl, '/metrics-b'), REQUESTS)).toBe(1);
  });
});

describe.each(ADAPTERS)('LlmMetricsInterceptor as a global interceptor (%s)', (adapter) => {
  it('leaves routes without @TrackLlm() alone and counts decorated ones once', async () => {
    @Controller('plain')
    class PlainController {
      @Post()
      @HttpCode(200)
      plain() {
        return { ok: true };
      }
    }
    @Module({
      imports: [LlmMetricsModule.forRoot(), ChatFeatureModule],
      controllers: [PlainController],
      providers: [{ provide: APP_INTERCEPTOR, useClass: LlmMetricsInterceptor }],
    })
    class AppModule {}
    const app = await startApp(AppModule, { adapter });
    try {
      await postJson(app.baseUrl, '/plain', { model: 'ignored' });
      await chat(app, { model: 'm' });
      const text = await scrape(app.baseUrl);
      expect(sumOf(text, REQUESTS)).toBe(1);
      expect(valueOf(text, REQUESTS, { model: 'm', ...chatSuccess })).toBe(1);
      expect(valueOf(text, 'nv_llm_http_service_request_duration_seconds_count', { model: 'm' })).toBe(1);
    } finally {
      await app.close();
    }
  });
});
