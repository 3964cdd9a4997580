// A CommonJS NestJS 11 app as a user writes it, compiled (`module: commonjs`)
// against the packed tarball's types: every `import` below becomes `require()`.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post, StreamableFile } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  Endpoint,
  type LlmMetricsModuleOptions,
  LlmMetricsModule,
  LlmMetricsService,
  type LlmRequestMetrics,
  RequestMetrics,
  TrackLlm,
} from 'nestjs-llm-metrics';

@Controller('v1')
class ChatController {
  /** A unary answer; the handler reports the usage itself. */
  @Post('chat/completions')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }, @RequestMetrics() metrics: LlmRequestMetrics) {
    metrics.recordUsage({ prompt_tokens: 7, completion_tokens: 2 });
    return { object: 'chat.completion', model: body.model };
  }

  /** A streamed answer: SSE text in a `StreamableFile`. */
  @Post('completions')
  @HttpCode(200)
  @TrackLlm(Endpoint.Completions)
  complete(@Body() _body: { model: string; stream: boolean }) {
    const events = ['t0', 't1', 't2'].map((text) => `data: ${JSON.stringify({ choices: [{ text }] })}\n\n`);
    return new StreamableFile(Readable.from([...events, 'data: [DONE]\n\n']), { type: 'text/event-stream' });
  }
}

@Module({
  imports: [
    // `forRootAsync()`: the ConfigurableModuleBuilder path.
    LlmMetricsModule.forRootAsync({ useFactory: (): LlmMetricsModuleOptions => ({ models: ['consumer-model'] }) }),
  ],
  controllers: [ChatController],
})
class AppModule {}

async function post(port: number, path: string, body: unknown): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return `${response.status} ${await response.text()}`;
}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const unary = await post(port, '/v1/chat/completions', { model: 'consumer-model' });
  const stream = await post(port, '/v1/completions', { model: 'consumer-model', stream: true });
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const count: number = await app.get(LlmMetricsService).getRequestCounter('consumer-model', Endpoint.ChatCompletions, 'unary', 'success');
  await app.close();
  const nest = (require('@nestjs/core/package.json') as { version: string }).version;
  process.stdout.write(
    [
      `nest=${nest}`,
      `resolved=${require.resolve('nestjs-llm-metrics')}`,
      `unary=${unary}`,
      `stream=${stream}`,
      exposition,
      `count=${count}`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
