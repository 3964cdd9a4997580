/**
 * An app behind a global `ThrottlerGuard` (2 requests a minute per route),
 * run in a child process: `@nestjs/throttler` is CommonJS, and Jest cannot
 * `require()` the ESM-only NestJS 12 from it, which Node.js itself can.
 * `ADAPTER` picks the adapter; `SKIP_METRICS=1` skips throttling on the
 * metrics route by its controller class. Prints `listening on <port>`.
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import type { AddressInfo } from 'node:net';
import { Endpoint, LlmMetricsController, LlmMetricsModule, TrackLlm } from '../../src/index.js';

@Controller('chat')
class ChatController {
  @Post()
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    return { model: body.model };
  }
}

@Module({
  imports: [
    LlmMetricsModule.forRoot(),
    ThrottlerModule.forRoot({
      throttlers: [{ ttl: 60_000, limit: 2 }],
      skipIf: process.env.SKIP_METRICS === '1' ? (context) => context.getClass() === LlmMetricsController : undefined,
    }),
  ],
  controllers: [ChatController],
  providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
})
class ThrottledAppModule {}

const app =
  process.env.ADAPTER === 'fastify'
    ? await NestFactory.create(ThrottledAppModule, new FastifyAdapter(), { logger: false })
    : await NestFactory.create(ThrottledAppModule, { logger: false });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
console.log(`listening on ${(app.getHttpServer().address() as AddressInfo).port}`);
