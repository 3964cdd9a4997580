// A NestJS 12 app as a user writes it, compiled against the packed tarball's types.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { Endpoint, LlmMetricsModule, type LlmMetricsModuleOptions, LlmMetricsService, TrackLlm } from 'nestjs-llm-metrics';

@Controller('v1')
class ChatController {
  @Post('chat/completions')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    return { object: 'chat.completion', model: body.model };
  }
}

const options: LlmMetricsModuleOptions = { models: ['consumer-model'] };

@Module({ imports: [LlmMetricsModule.forRoot(options)], controllers: [ChatController] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'consumer-model' }),
});
const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const count: number = await app.get(LlmMetricsService).getRequestCounter('consumer-model', Endpoint.ChatCompletions, 'unary', 'success');
process.stdout.write(`${exposition}\ncount=${count}\n`);
await app.close();
