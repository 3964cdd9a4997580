import {
  Body,
  type CallHandler,
  Controller,
  type ExecutionContext,
  HttpCode,
  Injectable,
  type INestApplication,
  Module,
  type NestInterceptor,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { inject } from 'light-my-request';
import { ServerResponse } from 'node:http';
import { type Observable, of } from 'rxjs';
import { Endpoint, LlmMetricsModule, type LlmMetricsModuleOptions, TrackLlm } from '../../src/index.js';
import { type Summary, interleavedRounds } from './rounds.js';

export type AdapterName = 'express' | 'fastify';

/** An interceptor that does nothing: the cost of Nest's interceptor pipeline alone. */
@Injectable()
export class DoNothingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/**
 * The least that any interceptor seeing each response's body and outcome
 * asks of the framework's response, and nothing recorded: its `writeHead`,
 * `write` and `end` wrapped by pass-throughs, `finish` and `close` listened
 * to. What the tracked route costs beyond it is the metric work itself.
 */
@Injectable()
export class WatchFloorInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<ServerResponse | { raw: ServerResponse }>();
    const response = reply instanceof ServerResponse ? reply : reply.raw;
    const { writeHead, write, end } = response;
    response.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      return Reflect.apply(writeHead, this, args);
    } as ServerResponse['writeHead'];
    response.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown) {
      return write.call(this, chunk, encoding as BufferEncoding, callback as () => void);
    } as ServerResponse['write'];
    response.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
      return end.call(this, chunk, encoding as BufferEncoding, callback as () => void);
    } as ServerResponse['end'];
    response.on('finish', () => {});
    response.on('close', () => {});
    return next.handle();
  }
}

/** The same trivial handler four times: undecorated, behind a do-nothing interceptor, behind the watch floor, tracked. */
@Controller()
export class UnaryBenchController {
  @Post('undecorated')
  @HttpCode(200)
  undecorated(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }

  @Post('do-nothing')
  @HttpCode(200)
  @UseInterceptors(DoNothingInterceptor)
  doNothing(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }

  @Post('watch-floor')
  @HttpCode(200)
  @UseInterceptors(WatchFloorInterceptor)
  watchFloor(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }

  @Post('tracked')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  tracked(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }
}

/** Creates an initialized app (not listening) and a function that injects one request, with `headers`, in-process. */
export async function createInjectableApp(
  module: new (...args: never[]) => unknown,
  adapter: AdapterName,
  headers: Record<string, string> = {},
): Promise<{ app: INestApplication; request: InjectedRequest }> {
  if (adapter === 'fastify') {
    const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false });
    await app.init();
    const fastify = app.getHttpAdapter().getInstance();
    await fastify.ready();
    return {
      app,
      request: async (path, payload) => {
        const response = await fastify.inject({ method: 'POST', url: path, headers, payload: payload as object });
        return { statusCode: response.statusCode, body: response.body };
      },
    };
  }
  const app = await NestFactory.create(module, { logger: false });
  await app.init();
  const dispatch = app.getHttpAdapter().getInstance();
  return {
    app,
    request: async (path, payload) => {
      const response = await inject(dispatch, { method: 'POST', url: path, headers, payload: payload as object });
      return { statusCode: response.statusCode, body: response.body };
    },
  };
}

/**
 * One app per variant, behind one `InjectedRequest`: a request to
 * `/<variant>/<route>` goes to `/<route>` of that variant's app. Each request
 * carries `headers`.
 */
export async function appsPerVariant(
  modules: Readonly<Record<string, new () => unknown>>,
  adapter: AdapterName,
  headers: Record<string, string> = {},
): Promise<{ request: InjectedRequest; close(): Promise<unknown> }> {
  const apps: INestApplication[] = [];
  const requests = new Map<string, InjectedRequest>();
  for (const [variant, module] of Object.entries(modules)) {
    const { app, request } = await createInjectableApp(module, adapter, headers);
    apps.push(app);
    requests.set(variant, request);
  }
  const request: InjectedRequest = (path, payload) => {
    const [, variant, route] = path.split('/');
    return requests.get(variant)!(`/${route}`, payload);
  };
  return { request, close: () => Promise.all(apps.map((app) => app.close())) };
}

/** The unary bench app, its metrics made with `options`. */
export function unaryBenchModule(options: LlmMetricsModuleOptions = {}): new () => unknown {
  @Module({ imports: [LlmMetricsModule.forRoot(options)], controllers: [UnaryBenchController] })
  class UnaryBenchModule {}
  return UnaryBenchModule;
}

/** What `request` answers for one injected request. */
export type InjectedRequest = (path: string, payload: unknown) => Promise<{ statusCode: number; body: string }>;

/**
 * µs per request of each route `/${variant}`: a warm-up round each, then
 * `rounds` interleaved rounds of `perRound` requests. An answer that
 * `isExpected` refuses stops the benchmark: a fast failure is no result.
 */
export async function timeRoutes<K extends string>(
  request: InjectedRequest,
  variants: readonly K[],
  options: { rounds: number; perRound: number; payload: unknown; isExpected?: (body: string) => boolean },
): Promise<Record<K, Summary & { samples: number[] }>> {
  const run = async (variant: K) => {
    for (let i = 0; i < options.perRound; i++) {
      const response = await request(`/${variant}`, options.payload);
      if (response.statusCode !== 200 || (options.isExpected && !options.isExpected(response.body))) {
        throw new Error(`${variant}: ${response.statusCode} ${response.body.slice(0, 200)}`);
      }
    }
  };
  for (const variant of variants) {
    await run(variant);
  }
  return interleavedRounds(variants, options.rounds, async (variant) => {
    const start = process.hrtime.bigint();
    await run(variant);
    return Number(process.hrtime.bigint() - start) / 1000 / options.perRound;
  });
}

/**
 * Each request timed alone, `variants` alternating request by request (in
 * runs of 1 024), so that the machine's load and the collector's pauses hit
 * both alike: the median µs per request of each. Less noisy than rounds on a
 * shared machine, but blind to what the collector costs.
 */
export async function alternatingMedians<K extends string>(
  request: InjectedRequest,
  variants: readonly K[],
  count: number,
  payload: unknown,
): Promise<Record<K, number>> {
  const times = Object.fromEntries(variants.map((variant) => [variant, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < Math.min(count, 5000); i++) {
    await request(`/${variants[i % variants.length]}`, payload);
  }
  for (let i = 0; i < count; i++) {
    const variant = variants[(i + (i >> 10)) % variants.length];
    const start = process.hrtime.bigint();
    await request(`/${variant}`, payload);
    times[variant].push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  return Object.fromEntries(variants.map((variant) => [variant, median(times[variant])])) as Record<K, number>;
}
