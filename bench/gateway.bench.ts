import { Body, Controller, HttpCode, Inject, Module, Post, StreamableFile } from '@nestjs/common';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import OpenAI from 'openai';
import { Endpoint, LlmMetricsModule, type LlmMetricsModuleOptions, LlmMetricsService, TrackLlm } from '../src/index.js';
import { type AdapterName, alternatingMedians, appsPerVariant, timeRoutes } from './support/bench-app.js';
import { fmt, heading, line, ratioLine, spread, summarize } from './support/rounds.js';

const CHUNKS = 64;
const UPSTREAM_URL = Symbol('bench.upstream-url');
const FETCH = Symbol('bench.fetch');

/** The fetch of a variant: the platform's, the metrics', or the platform's with its body passed through a stream that does nothing else. */
type FetchKind = 'plain' | 'instrumented' | 'passthrough';

/**
 * The floor of any observation of a body read as it arrives: a web stream
 * between the caller and undici's body, observing nothing.
 */
const passThroughFetch: typeof globalThis.fetch = async (input, init) => {
  const response = await globalThis.fetch(input, init);
  const reader = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      pull: (controller) => reader.read().then((result) => (result.done ? controller.close() : controller.enqueue(result.value))),
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

/** An OpenAI-compatible upstream on loopback: 64 chunks of one token, each its own write a turn of the event loop apart, then the usage. */
async function startUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'x-ratelimit-remaining-requests': '100',
        'x-ratelimit-reset-tokens': '1s',
      });
      let i = 0;
      const next = () => {
        if (i < CHUNKS) {
          response.write(
            `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"tok${i++} "}}]}\n\n`,
          );
          setImmediate(next);
        } else {
          response.end(
            `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${CHUNKS}}}\n\ndata: [DONE]\n\n`,
          );
        }
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server };
}

/** A gateway's tracked route, streaming the upstream's answer on event by event, its `openai` client's `fetch` plain or the metrics'. */
@Controller()
class GatewayBenchController {
  private readonly openai: OpenAI;

  constructor(@Inject(UPSTREAM_URL) url: string, @Inject(FETCH) kind: FetchKind, metrics: LlmMetricsService) {
    const fetch = {
      plain: undefined,
      passthrough: passThroughFetch,
      instrumented: kind === 'instrumented' ? metrics.fetch({ provider: 'openai' }) : undefined,
    }[kind];
    this.openai = new OpenAI({ baseURL: url, apiKey: 'none', maxRetries: 0, ...(fetch && { fetch }) });
  }

  @Post('chat')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  async chat(@Body() body: { model: string }): Promise<StreamableFile> {
    const stream = await this.openai.chat.completions.create({
      model: body.model,
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = async function* () {
      for await (const chunk of stream) {
        yield `data: ${JSON.stringify(chunk)}\n\n`;
      }
      yield 'data: [DONE]\n\n';
    };
    return new StreamableFile(Readable.from(events()), { type: 'text/event-stream' });
  }
}

function gatewayBenchModule(url: string, kind: FetchKind, options: LlmMetricsModuleOptions = {}): new () => unknown {
  @Module({
    imports: [LlmMetricsModule.forRoot(options)],
    controllers: [GatewayBenchController],
    providers: [
      { provide: UPSTREAM_URL, useValue: url },
      { provide: FETCH, useValue: kind },
    ],
  })
  class GatewayBenchModule {}
  return GatewayBenchModule;
}

/**
 * Tokens per second of a gateway's stream (the `openai` client, a real
 * upstream on loopback, a tracked route), its upstream calls through the
 * instrumented `fetch` (with `upstream` and `prices`) ÷ through the plain
 * one; a bare pass-through of the body (the floor of observing it); and
 * plain ÷ plain (the run's noise): one app each, in interleaved rounds.
 */
export async function gatewayCost(adapter: AdapterName, rounds: number, streamsPerRound: number) {
  const upstream = await startUpstream();
  const prices = { models: { m: { input: 0.15, cachedInput: 0.075, output: 0.6 } } };
  const variants = ['plain/chat', 'again/chat', 'passthrough/chat', 'instrumented/chat'] as const;
  const apps = await appsPerVariant(
    {
      plain: gatewayBenchModule(upstream.url, 'plain'),
      again: gatewayBenchModule(upstream.url, 'plain'),
      passthrough: gatewayBenchModule(upstream.url, 'passthrough'),
      instrumented: gatewayBenchModule(upstream.url, 'instrumented', { upstream: { providers: ['openai'] }, prices }),
    },
    adapter,
  );
  const payload = { model: 'm', stream: true };
  const perStream = await timeRoutes(apps.request, variants, {
    rounds,
    perRound: streamsPerRound,
    payload,
    isExpected: (body) => body.endsWith('data: [DONE]\n\n'),
  });
  const alternating = await alternatingMedians(apps.request, ['plain/chat', 'instrumented/chat'], Math.max(rounds, 10) * 20, payload);
  const floor = await alternatingMedians(apps.request, ['plain/chat', 'passthrough/chat'], Math.max(rounds, 10) * 20, payload);
  await apps.close();
  await new Promise((resolve) => upstream.server.close(resolve));
  const tokensPerSecond = (samples: number[]) => samples.map((us) => (CHUNKS * 1000) / us);
  heading(
    `Gateway stream, instrumented fetch, ${adapter} (${rounds} rounds × ${streamsPerRound} streams of ${CHUNKS} chunks through the openai client; k tokens/s: median [min–max])`,
  );
  for (const variant of variants) {
    line(`- ${variant.padEnd(18)} ${spread(summarize(tokensPerSecond(perStream[variant].samples)), 1)} k tokens/s`);
  }
  ratioLine(
    'tokens/s plain again ÷ plain (control)',
    tokensPerSecond(perStream['again/chat'].samples),
    tokensPerSecond(perStream['plain/chat'].samples),
    '1.0',
  );
  ratioLine(
    'tokens/s pass-through ÷ plain (the floor of any observation)',
    tokensPerSecond(perStream['passthrough/chat'].samples),
    tokensPerSecond(perStream['plain/chat'].samples),
    '(information)',
  );
  ratioLine(
    'tokens/s instrumented ÷ plain',
    tokensPerSecond(perStream['instrumented/chat'].samples),
    tokensPerSecond(perStream['plain/chat'].samples),
    '≥ 0.97',
  );
  line(
    `- stream by stream, alternating: plain ${fmt(alternating['plain/chat'], 0)} µs, instrumented ${fmt(alternating['instrumented/chat'], 0)} µs: ` +
      `tokens/s instrumented ÷ plain ${fmt(alternating['plain/chat'] / alternating['instrumented/chat'], 3)} target ≥ 0.97`,
  );
  line(
    `- stream by stream, alternating: plain ${fmt(floor['plain/chat'], 0)} µs, pass-through ${fmt(floor['passthrough/chat'], 0)} µs: ` +
      `tokens/s pass-through ÷ plain ${fmt(floor['plain/chat'] / floor['passthrough/chat'], 3)} (the floor)`,
  );
}
