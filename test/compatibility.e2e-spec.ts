import { CacheInterceptor, CacheModule } from '@nestjs/cache-manager';
import {
  Controller,
  type DynamicModule,
  Get,
  Header,
  Inject,
  type INestApplication,
  Module,
  RequestMethod,
  type Type,
  VERSION_NEUTRAL,
  ValidationPipe,
  VersioningType,
} from '@nestjs/common';
import { APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { LLM_METRICS_REGISTRY, LlmMetricsModule } from '../src/index.js';
import {
  CachedChatController,
  EnvelopeInterceptor,
  PlainChatController,
  SerializedChatController,
  documentedChatController,
  ValidatedChatController,
} from './app/ecosystem.controllers.js';
import { AppModule as SampleAppModule } from '../sample/app.module.js';
import { sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, type StartOptions, postJson, scrape, startApp } from './support/http.js';
import { type NodeProcess, compile, runScript } from './support/node-process.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';

const chat = (status: 'success' | 'error', model = 'm') => ({ model, endpoint: 'chat_completions', request_type: 'unary', status });

/** An app of `controllers` and `providers` beside `LlmMetricsModule.forRoot()` and `imports`. */
function appOf(metadata: { imports?: unknown[]; controllers?: Type[]; providers?: unknown[] }): Type {
  @Module({
    imports: [LlmMetricsModule.forRoot(), ...((metadata.imports ?? []) as Type[])],
    controllers: metadata.controllers ?? [],
    providers: (metadata.providers ?? []) as Type[],
  })
  class EcosystemAppModule {}
  return EcosystemAppModule;
}

describe.each(ADAPTERS)('with the packages users combine it with (%s)', (adapter) => {
  const running: RunningApp[] = [];
  const start = async (module: Type, options: Omit<StartOptions, 'adapter'> = {}) => {
    const app = await startApp(module, { adapter, ...options });
    running.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  /** Checks the exposition holds exactly `counts` requests (labels → count), and nothing in flight. */
  async function expectCounts(app: RunningApp, counts: [Record<string, string>, number][], path = '/metrics') {
    const text = await scrape(app.baseUrl, path);
    for (const [labels, count] of counts) {
      expect({ labels, count: valueOf(text, REQUESTS, labels) }).toEqual({ labels, count });
    }
    expect(sumOf(text, REQUESTS)).toBe(counts.reduce((sum, [, count]) => sum + count, 0));
    expect(sumOf(text, INFLIGHT)).toBe(0);
  }

  it('counts a body a global ValidationPipe refuses (class-validator DTO) once, as an error', async () => {
    const app = await start(
      appOf({ controllers: [ValidatedChatController], providers: [{ provide: APP_PIPE, useValue: new ValidationPipe() }] }),
    );
    const refused = await postJson(app.baseUrl, '/v1/chat/completions', { model: 'm', messages: 'not an array' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).message).toEqual(['messages must be an array']);
    const served = await postJson(app.baseUrl, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect([served.status, JSON.parse(served.text)]).toEqual([200, { model: 'm', messages: 1 }]);
    expect(app.app.get(ValidatedChatController).handled).toBe(1);
    await expectCounts(app, [
      [chat('error'), 1],
      [chat('success'), 1],
    ]);
  });

  describe('@nestjs/cache-manager', () => {
    it('counts an answer its CacheInterceptor serves from the cache, after @TrackLlm(), as one success', async () => {
      const app = await start(appOf({ imports: [CacheModule.register()], controllers: [CachedChatController] }));
      const first = await postJson(app.baseUrl, '/cached', { model: 'm' });
      const second = await postJson(app.baseUrl, '/cached', { model: 'm' });
      expect([first.status, JSON.parse(first.text)]).toEqual([200, { model: 'm', handled: 1 }]);
      expect([second.status, JSON.parse(second.text)]).toEqual([200, { model: 'm', handled: 1 }]);
      expect(app.app.get(CachedChatController).handled).toBe(1);
      await expectCounts(app, [[chat('success'), 2]]);
    });

    it('does not count an answer a global CacheInterceptor serves before any route interceptor runs', async () => {
      const app = await start(
        appOf({
          imports: [CacheModule.register()],
          controllers: [CachedChatController],
          providers: [{ provide: APP_INTERCEPTOR, useClass: CacheInterceptor }],
        }),
      );
      await postJson(app.baseUrl, '/cached', { model: 'm' });
      const cached = await postJson(app.baseUrl, '/cached', { model: 'm' });
      expect([cached.status, JSON.parse(cached.text)]).toEqual([200, { model: 'm', handled: 1 }]);
      await expectCounts(app, [[chat('success'), 1]]);
    });
  });

  it('counts a route ClassSerializerInterceptor serializes once, its answer serialized', async () => {
    const app = await start(appOf({ controllers: [SerializedChatController] }));
    const response = await postJson(app.baseUrl, '/serialized', { model: 'm' });
    expect([response.status, JSON.parse(response.text)]).toEqual([200, { model: 'm', content: 'hello' }]);
    await expectCounts(app, [[chat('success'), 1]]);
  });

  it('counts a route whose answer a global interceptor maps once, the answer mapped', async () => {
    const app = await start(
      appOf({ controllers: [PlainChatController], providers: [{ provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor }] }),
    );
    const response = await postJson(app.baseUrl, '/chat', { model: 'm' });
    expect([response.status, JSON.parse(response.text)]).toEqual([200, { data: { model: 'm' } }]);
    await expectCounts(app, [[chat('success'), 1]]);
  });

  describe('URI versioning with a global prefix', () => {
    const versioned = (app: INestApplication, exclude = false) => {
      app.setGlobalPrefix('api', exclude ? { exclude: [{ path: 'metrics', method: RequestMethod.GET }] } : undefined);
      app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
    };

    it('counts the versioned, prefixed route once, and serves the metrics under the same prefix and version', async () => {
      const app = await start(appOf({ controllers: [PlainChatController] }), { configure: (nest) => versioned(nest) });
      const response = await postJson(app.baseUrl, '/api/v1/chat', { model: 'm' });
      expect([response.status, JSON.parse(response.text)]).toEqual([200, { model: 'm' }]);
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      await expectCounts(app, [[chat('success'), 1]], '/api/v1/metrics');
    });

    it('serves the metrics outside the prefix when the prefix excludes them', async () => {
      const app = await start(appOf({ controllers: [PlainChatController] }), { configure: (nest) => versioned(nest, true) });
      await postJson(app.baseUrl, '/api/v1/chat', { model: 'm' });
      await expectCounts(app, [[chat('success'), 1]], '/v1/metrics');
    });

    it('serves the metrics outside the version too from a version-neutral controller of the app, with controller: false', async () => {
      @Controller({ version: VERSION_NEUTRAL })
      class OwnMetricsController {
        constructor(@Inject(LLM_METRICS_REGISTRY) private readonly registry: Registry) {}

        @Get('metrics')
        @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
        scrape(): Promise<string> {
          return this.registry.metrics();
        }
      }
      @Module({ imports: [LlmMetricsModule.forRoot({ controller: false })], controllers: [PlainChatController, OwnMetricsController] })
      class OwnRouteAppModule {}
      const app = await start(OwnRouteAppModule, { configure: (nest) => versioned(nest, true) });
      await postJson(app.baseUrl, '/api/v1/chat', { model: 'm' });
      await expectCounts(app, [[chat('success'), 1]], '/metrics');
    });
  });
});

describe.each(ADAPTERS)('@nestjs/throttler, in an app of its own process (%s)', (adapter) => {
  // @nestjs/throttler is CommonJS: Jest cannot require() the ESM-only NestJS 12 from it; Node.js can.
  const running: NodeProcess[] = [];
  beforeAll(() => compile('tsconfig.processes.json'));
  afterEach(() => {
    for (const app of running.splice(0)) {
      app.child.kill();
    }
  });

  async function startThrottled(skipMetrics: boolean): Promise<string> {
    const app = runScript('dist-processes/test/processes/throttled-app.js', { ADAPTER: adapter, SKIP_METRICS: skipMetrics ? '1' : '0' });
    running.push(app);
    const port = /listening on (\d+)/.exec(await app.waitFor('listening on'))?.[1];
    return `http://127.0.0.1:${port}`;
  }

  it('does not count a request the global ThrottlerGuard refuses with a 429', async () => {
    const baseUrl = await startThrottled(true);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await postJson(baseUrl, '/chat', { model: 'm' });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const text = await scrape(baseUrl);
    expect(valueOf(text, REQUESTS, chat('success'))).toBe(2);
    expect(sumOf(text, REQUESTS)).toBe(2);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('guards the metrics route too, unless skipIf skips LlmMetricsController', async () => {
    const guarded = await startThrottled(false);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await fetch(`${guarded}/metrics`)).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const skipped = await startThrottled(true);
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${skipped}/metrics`)).status).toBe(200);
    }
  });
});

describe('@nestjs/swagger', () => {
  async function documentOf(module: Type | DynamicModule): Promise<unknown> {
    const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      return SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('llm').build());
    } finally {
      await app.close();
    }
  }

  it('generates the same OpenAPI document for a route with and without @TrackLlm()', async () => {
    const tracked = await documentOf(appOf({ controllers: [documentedChatController(true)] }));
    const untracked = await documentOf(appOf({ controllers: [documentedChatController(false)] }));
    expect(tracked).toEqual(untracked);
    expect(Object.keys((tracked as { paths: object }).paths)).toEqual(['/v1/chat/completions', '/metrics']);
  });

  it("documents every route of the sample's controllers, each with only the parameters its handler declares", async () => {
    const document = (await documentOf(SampleAppModule.register({ tokenDelayMs: 0 }))) as {
      paths: Record<string, Record<string, { parameters?: unknown[]; requestBody?: unknown }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.map(({ method, path }) => `${method} ${path}`).sort()).toEqual([
      'get /metrics',
      'get /v1/models',
      'post /v1/chat/completions',
      'post /v1/chat/completions/sse',
      'post /v1/completions',
      'post /v1/embeddings',
      'post /v1/responses',
    ]);
    for (const { path, op } of operations.filter(({ method }) => method === 'post')) {
      expect({ path, parameters: op.parameters ?? [] }).toEqual({ path, parameters: [] });
    }
  });
});
