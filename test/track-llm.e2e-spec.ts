import {
  BadRequestException,
  Body,
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Header,
  HttpCode,
  Injectable,
  Module,
  type NestInterceptor,
  Param,
  ParseIntPipe,
  type PipeTransform,
  Post,
  Scope,
  SetMetadata,
  UseGuards,
  UseInterceptors,
  createParamDecorator,
} from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { type Observable, of } from 'rxjs';
import { Test } from '@nestjs/testing';
import { Endpoint, LlmMetricsInterceptor, LlmMetricsModule, TRACK_LLM_METADATA, TrackLlm } from '../src/index.js';
import {
  ComposedRoutesController,
  DerivedController,
  PlainlyDecoratedController,
  observedCalls,
} from './app/composed-routes.controller.js';
import { sumOf, valueOf } from './support/exposition.js';
import { ADAPTERS, type RunningApp, listen, postJson, scrape, startApp } from './support/http.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const INFLIGHT = 'nv_llm_http_service_inflight_requests';
const DURATION_COUNT = 'nv_llm_http_service_request_duration_seconds_count';

/** Refuses every request: stands for an authentication guard. */
@Injectable()
class RefuseGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Refuses a body without a string `model`, as a validation pipe would. */
@Injectable()
class RequireModelPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (typeof (value as { model?: unknown } | undefined)?.model !== 'string') {
      throw new BadRequestException('model must be a string');
    }
    return value;
  }
}

/** Answers from a cache in the handler's place, as a cache interceptor does on a hit. */
@Injectable()
class CachedAnswerInterceptor implements NestInterceptor {
  intercept(): Observable<unknown> {
    return of({ cached: true });
  }
}

/**
 * Wraps a handler again, as Nest-aware method decorators do (its metadata
 * carried over); given `cached`, answers with it without calling the handler.
 */
function WrapAgain(cached?: unknown): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const inner = descriptor.value as (...args: unknown[]) => unknown;
    const outer = function (this: unknown, ...args: unknown[]) {
      return cached !== undefined ? cached : inner.apply(this, args);
    };
    for (const key of Reflect.getOwnMetadataKeys(inner)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, inner), outer);
    }
    Object.defineProperty(outer, 'name', { value: inner.name });
    descriptor.value = outer;
    return descriptor;
  };
}

const Broken = createParamDecorator(() => {
  throw new Error('cannot read this parameter');
});

class BaseController {
  @Post('inherited')
  @HttpCode(200)
  inherited(@Body() body: { model: string }) {
    return { inherited: body.model };
  }
}

@Controller('bound')
class BoundController {
  @Post('refused-by-pipe/:n')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  refusedByPipe(@Param('n', ParseIntPipe) n: number) {
    return { n };
  }

  @Post('validated')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  validated(@Body(RequireModelPipe) body: { model: string }) {
    return { model: body.model };
  }

  @Post('guard-above')
  @UseGuards(RefuseGuard)
  @TrackLlm(Endpoint.ChatCompletions)
  guardAbove() {
    return { reached: true };
  }

  @Post('guard-below')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseGuards(RefuseGuard)
  guardBelow() {
    return { reached: true };
  }

  @Post('cached')
  @HttpCode(200)
  @UseInterceptors(CachedAnswerInterceptor)
  @TrackLlm(Endpoint.ChatCompletions)
  cached() {
    return { cached: false };
  }

  @Post('broken-param')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  brokenParam(@Broken() _value: unknown) {
    return { reached: true };
  }

  @Post('wrapped-again')
  @HttpCode(200)
  @WrapAgain()
  @TrackLlm(Endpoint.ChatCompletions)
  wrappedAgain(@Body() body: { model: string }) {
    return { model: body.model };
  }

  @Post('wrapped-cached')
  @HttpCode(200)
  @WrapAgain({ cached: true })
  @TrackLlm(Endpoint.ChatCompletions)
  wrappedCached() {
    return { cached: false };
  }

  @Post('headers')
  @Header('x-above', 'a')
  @TrackLlm(Endpoint.Completions)
  @HttpCode(202)
  headers(@Body() body: { model: string }) {
    return { model: body.model };
  }
}

@Controller('class-tracked')
@TrackLlm(Endpoint.Completions)
class ClassTrackedController extends BaseController {
  @Post('own')
  @HttpCode(200)
  @TrackLlm(Endpoint.Embeddings)
  own(@Body() body: { model: string }) {
    return { own: body.model };
  }

  @Post('plain')
  @HttpCode(200)
  plain(@Body() body: { model: string }) {
    return { plain: body.model };
  }

  /** Not a route: left alone. */
  helper(): string {
    return 'helper';
  }
}

@Controller('class-guarded')
@UseGuards(RefuseGuard)
@TrackLlm(Endpoint.ChatCompletions)
class ClassGuardedController {
  @Post()
  refused() {
    return { reached: true };
  }
}

@Controller('through-interceptor')
class InterceptorBoundController {
  @Post(':n')
  @HttpCode(200)
  @SetMetadata(TRACK_LLM_METADATA, Endpoint.ChatCompletions)
  @UseInterceptors(LlmMetricsInterceptor)
  tracked(@Param('n', ParseIntPipe) n: number, @Body() body: { model: string }) {
    return { n, model: body.model };
  }
}

/** A new instance per request: Nest builds the route's handler per request too. */
@Controller({ path: 'request-scoped', scope: Scope.REQUEST })
class RequestScopedController {
  @Post(':n')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Param('n', ParseIntPipe) n: number, @Body() body: { model: string }) {
    return { n, model: body.model };
  }
}

@Module({
  imports: [LlmMetricsModule.forRoot({ errorType: true })],
  controllers: [BoundController, ClassTrackedController, ClassGuardedController, InterceptorBoundController, RequestScopedController],
  providers: [RefuseGuard, RequireModelPipe],
})
class BindingAppModule {}

@Controller('global-pipe')
class GlobalPipeController {
  @Post()
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    return { model: body.model };
  }
}

@Module({
  imports: [LlmMetricsModule.forRoot({ errorType: true })],
  controllers: [GlobalPipeController],
  providers: [{ provide: APP_PIPE, useClass: RequireModelPipe }],
})
class GlobalPipeAppModule {}

const chatRequest = (status: string, errorType = '') => ({
  endpoint: 'chat_completions',
  request_type: 'unary',
  status,
  error_type: errorType,
});

describe.each(ADAPTERS)('@TrackLlm() on the routes of an app (%s)', (adapter) => {
  let app: RunningApp;
  beforeEach(async () => {
    app = await startApp(BindingAppModule, { adapter });
  });
  afterEach(async () => {
    await app.close();
  });

  it('counts a request a parameter pipe refuses once, as a validation error, and releases its in-flight slot', async () => {
    expect((await postJson(app.baseUrl, '/bound/refused-by-pipe/abc', { model: 'm' })).status).toBe(400);
    expect((await postJson(app.baseUrl, '/bound/refused-by-pipe/7', { model: 'm' })).status).toBe(200);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('error', 'validation') })).toBe(1);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(2);
    expect(valueOf(text, DURATION_COUNT, { model: 'm' })).toBe(2);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts a body a validation pipe refuses as a validation error, under the model the body names', async () => {
    expect((await postJson(app.baseUrl, '/bound/validated', { model: 42 })).status).toBe(400);
    expect((await postJson(app.baseUrl, '/bound/validated', { model: 'm' })).status).toBe(200);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...chatRequest('error', 'validation') })).toBe(1);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('does not count a request another guard refuses, whether its decorator is above or below @TrackLlm(), or on the class', async () => {
    for (const path of ['/bound/guard-above', '/bound/guard-below', '/class-guarded']) {
      expect((await postJson(app.baseUrl, path, { model: 'm' })).status).toBe(403);
    }
    const text = await scrape(app.baseUrl);
    expect(sumOf(text, REQUESTS)).toBe(0);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts a request an interceptor answers in the handler’s place by the response it sends', async () => {
    const response = await postJson(app.baseUrl, '/bound/cached', { model: 'm' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ cached: true });
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts a request whose custom parameter decorator throws as an internal error', async () => {
    expect((await postJson(app.baseUrl, '/bound/broken-param', { model: 'm' })).status).toBe(500);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('error', 'internal') })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('tracks a handler another decorator wrapped again, also when that decorator answers without calling it', async () => {
    const again = await postJson(app.baseUrl, '/bound/wrapped-again', { model: 'm' });
    expect([again.status, JSON.parse(again.text)]).toEqual([200, { model: 'm' }]);
    const cached = await postJson(app.baseUrl, '/bound/wrapped-cached', { model: 'm' });
    expect([cached.status, JSON.parse(cached.text)]).toEqual([200, { cached: true }]);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(2);
    expect(sumOf(text, REQUESTS)).toBe(2);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('keeps the metadata of decorators above and below it (status code, headers)', async () => {
    const response = await fetch(`${app.baseUrl}/bound/headers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm' }),
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-above')).toBe('a');
    expect(await response.json()).toEqual({ model: 'm' });
    expect(sumOf(await scrape(app.baseUrl), REQUESTS, { model: 'm', endpoint: 'completions', status: 'success' })).toBe(1);
  });

  it('on a class, tracks every route, inherited ones included, and a method’s own @TrackLlm() wins', async () => {
    for (const path of ['/class-tracked/inherited', '/class-tracked/own', '/class-tracked/plain']) {
      expect((await postJson(app.baseUrl, path, { model: 'm' })).status).toBe(200);
    }
    const text = await scrape(app.baseUrl);
    expect(sumOf(text, REQUESTS, { model: 'm', endpoint: 'completions', status: 'success' })).toBe(2);
    expect(sumOf(text, REQUESTS, { model: 'm', endpoint: 'embeddings', status: 'success' })).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(3);
  });

  it('tracks a request-scoped controller’s route, pipe refusals included', async () => {
    expect((await postJson(app.baseUrl, '/request-scoped/1', { model: 'm' })).status).toBe(200);
    expect((await postJson(app.baseUrl, '/request-scoped/2', { model: 'm' })).status).toBe(200);
    expect((await postJson(app.baseUrl, '/request-scoped/x', { model: 'm' })).status).toBe(400);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(2);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('error', 'validation') })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('tracks a route bound through LlmMetricsInterceptor and the metadata key, pipe refusals included', async () => {
    expect((await postJson(app.baseUrl, '/through-interceptor/1', { model: 'm' })).status).toBe(200);
    expect((await postJson(app.baseUrl, '/through-interceptor/x', { model: 'm' })).status).toBe(400);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(1);
    expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('error', 'validation') })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });
});

describe.each(ADAPTERS)('@TrackLlm() with a global pipe (%s)', (adapter) => {
  it('counts a request the global pipe refuses', async () => {
    const app = await startApp(GlobalPipeAppModule, { adapter });
    try {
      expect((await postJson(app.baseUrl, '/global-pipe', { model: 1 })).status).toBe(400);
      expect((await postJson(app.baseUrl, '/global-pipe', { model: 'm' })).status).toBe(200);
      const text = await scrape(app.baseUrl);
      expect(valueOf(text, REQUESTS, { model: 'unknown_model', ...chatRequest('error', 'validation') })).toBe(1);
      expect(valueOf(text, REQUESTS, { model: 'm', ...chatRequest('success') })).toBe(1);
      expect(sumOf(text, INFLIGHT)).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('a @TrackLlm() handler called directly', () => {
  it('behaves as the plain method, whatever decorators are composed on it', () => {
    expect(new ComposedRoutesController().composite({ model: 'm' })).toEqual({ route: 'composite', model: 'm' });
    expect(new PlainlyDecoratedController().chat({ model: 'm' })).toEqual({ route: 'plain', model: 'm' });
    expect(new DerivedController().inherited({ model: 'm' })).toEqual({ route: 'inherited', model: 'm' });
  });

  it('runs the handler and records nothing', () => {
    const controller = new ClassTrackedController();
    expect(controller.own({ model: 'm' })).toEqual({ own: 'm' });
    expect(controller.plain({ model: 'p' })).toEqual({ plain: 'p' });
    expect(controller.helper()).toBe('helper');
    expect(new BoundController().refusedByPipe(3)).toEqual({ n: 3 });
  });
});

@Module({
  imports: [LlmMetricsModule.forRoot()],
  controllers: [ComposedRoutesController, PlainlyDecoratedController, DerivedController],
})
class CompositionAppModule {}

/** POSTs `{ model }` to each path and checks the answer is the handler's. */
async function postEach(app: RunningApp, routes: Record<string, string>, model = 'm'): Promise<void> {
  for (const [path, route] of Object.entries(routes)) {
    const response = await postJson(app.baseUrl, path, { model });
    expect({ path, status: response.status, body: JSON.parse(response.text) }).toEqual({ path, status: 200, body: { route, model } });
  }
}

describe.each(ADAPTERS)('@TrackLlm() however decorators are composed (%s)', (adapter) => {
  let app: RunningApp;
  beforeEach(async () => {
    observedCalls.spans.length = 0;
    observedCalls.contexts.length = 0;
    app = await startApp(CompositionAppModule, { adapter });
  });
  afterEach(async () => {
    await app.close();
  });

  it('counts a route composed with applyDecorators() once', async () => {
    await postEach(app, { '/composed/composite': 'composite' });
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'chat_completions', request_type: 'unary', status: 'success' })).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts a route whose decorators were applied as plain functions, their return values ignored', async () => {
    await postEach(app, { '/plainly/chat': 'plain' });
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'completions', request_type: 'unary', status: 'success' })).toBe(1);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('counts routes wrapped by tracing, Proxy and anonymous-function decorators above and below it, and runs the wrappers', async () => {
    await postEach(app, {
      '/composed/traced-above': 'traced-above',
      '/composed/traced-below': 'traced-below',
      '/composed/proxy-above': 'proxy-above',
      '/composed/proxy-below': 'proxy-below',
      '/composed/anonymous': 'anonymous',
    });
    expect(observedCalls.spans).toEqual(['tracedAbove', 'tracedBelow']);
    expect(observedCalls.contexts).toEqual(['proxyAbove', 'proxyBelow']);
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'chat_completions', request_type: 'unary', status: 'success' })).toBe(5);
    expect(valueOf(text, DURATION_COUNT, { model: 'm' })).toBe(5);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });

  it('covers the routes a subclass of a class-level @TrackLlm() base inherits, adds and redeclares; a method-level one wins', async () => {
    await postEach(app, {
      '/derived/inherited': 'inherited',
      '/derived/added': 'added',
      '/derived/redeclared': 'derived',
      '/derived/embeddings': 'embeddings',
    });
    const text = await scrape(app.baseUrl);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'completions', request_type: 'unary', status: 'success' })).toBe(3);
    expect(valueOf(text, REQUESTS, { model: 'm', endpoint: 'embeddings', request_type: 'unary', status: 'success' })).toBe(1);
    expect(sumOf(text, REQUESTS)).toBe(4);
    expect(sumOf(text, INFLIGHT)).toBe(0);
  });
});

describe.each(ADAPTERS)('turning the tracking off in tests (%s)', (adapter) => {
  it('serves every route untracked, and unchanged, with overrideInterceptor(LlmMetricsInterceptor)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CompositionAppModule] })
      .overrideInterceptor(LlmMetricsInterceptor)
      .useValue({ intercept: (_context: ExecutionContext, next: CallHandler) => next.handle() })
      .compile();
    const app = await listen(moduleRef, { adapter });
    try {
      await postEach(app, { '/composed/composite': 'composite', '/plainly/chat': 'plain', '/derived/inherited': 'inherited' });
      const text = await scrape(app.baseUrl);
      expect(sumOf(text, REQUESTS)).toBe(0);
      expect(sumOf(text, INFLIGHT)).toBe(0);
    } finally {
      await app.close();
    }
  });
});
