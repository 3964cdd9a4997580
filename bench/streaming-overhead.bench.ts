import { Body, Controller, HttpCode, Module, Post, UseInterceptors } from '@nestjs/common';
import { Readable } from 'node:stream';
import { Endpoint, LlmMetricsModule, type LlmMetricsModuleOptions, TrackLlm } from '../src/index.js';
import {
  type AdapterName,
  DoNothingInterceptor,
  WatchFloorInterceptor,
  alternatingMedians,
  createInjectableApp,
  timeRoutes,
} from './support/bench-app.js';
import { type Summary, fmt, heading, line, ratioLine, spread, summarize } from './support/rounds.js';

const CHUNKS = 64;

function sseStream(): Readable {
  const lines: string[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    lines.push(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok${i} "}}]}\n\n`);
  }
  lines.push('data: [DONE]\n\n');
  return Readable.from(lines);
}

/** The same 64-chunk SSE stream, untracked, behind a do-nothing interceptor or the watch floor, and tracked (every streaming metric on). */
@Controller()
class StreamBenchController {
  @Post('untracked')
  @HttpCode(200)
  untracked(@Body() _body: { model: string }): Readable {
    return sseStream();
  }

  @Post('do-nothing')
  @HttpCode(200)
  @UseInterceptors(DoNothingInterceptor)
  doNothing(@Body() _body: { model: string }): Readable {
    return sseStream();
  }

  @Post('watch-floor')
  @HttpCode(200)
  @UseInterceptors(WatchFloorInterceptor)
  watchFloor(@Body() _body: { model: string }): Readable {
    return sseStream();
  }

  @Post('tracked')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  tracked(@Body() _body: { model: string }): Readable {
    return sseStream();
  }
}

/** The streaming bench app, its metrics made with `options`. */
export function streamBenchModule(options: LlmMetricsModuleOptions = {}): new () => unknown {
  @Module({ imports: [LlmMetricsModule.forRoot({ streamingMetrics: true, ...options })], controllers: [StreamBenchController] })
  class StreamBenchModule {}
  return StreamBenchModule;
}

const VARIANTS = ['untracked', 'do-nothing', 'tracked'] as const;

/** Tokens per second delivered by a 64-chunk SSE stream, tracked ÷ untracked. */
export async function streamingOverhead(adapter: AdapterName, rounds: number, streamsPerRound: number) {
  const { app, request } = await createInjectableApp(streamBenchModule(), adapter);
  const perRequest = await timeRoutes(request, VARIANTS, {
    rounds,
    perRound: streamsPerRound,
    payload: { model: 'bench-model', stream: true },
    isExpected: (body) => body.endsWith('data: [DONE]\n\n'),
  });
  const alternating = await alternatingMedians(request, ['do-nothing', 'watch-floor', 'tracked'], Math.max(rounds, 10) * 60, {
    model: 'bench-model',
    stream: true,
  });
  // µs per stream → thousand tokens per second.
  const results = Object.fromEntries(
    VARIANTS.map((variant) => {
      const samples = perRequest[variant].samples.map((us) => (CHUNKS * 1000) / us);
      return [variant, { ...summarize(samples), samples }];
    }),
  ) as Record<(typeof VARIANTS)[number], Summary & { samples: number[] }>;
  await app.close();
  heading(
    `Streaming overhead, ${adapter} (${rounds} rounds × ${streamsPerRound} streams of ${CHUNKS} chunks; k tokens/s: median [min–max])`,
  );
  for (const variant of VARIANTS) {
    line(`- ${variant.padEnd(10)} ${spread(results[variant], 1)} k tokens/s`);
  }
  ratioLine('tokens/s tracked ÷ do-nothing', results.tracked.samples, results['do-nothing'].samples, '≥ 0.92');
  ratioLine('tokens/s tracked ÷ untracked', results.tracked.samples, results.untracked.samples, '(information)');
  line(
    `- stream by stream, alternating: median ${fmt(alternating['do-nothing'], 1)} µs do-nothing, ${fmt(alternating.tracked, 1)} µs tracked: ` +
      `tokens/s tracked ÷ do-nothing ${fmt(alternating['do-nothing'] / alternating.tracked, 3)}, ${fmt((alternating.tracked - alternating['do-nothing']) / CHUNKS, 2)} µs a chunk`,
  );
  line(
    `- the watch floor (${fmt(alternating['watch-floor'], 1)} µs a stream, alternating with both): tokens/s floor ÷ do-nothing ${fmt(alternating['do-nothing'] / alternating['watch-floor'], 3)}, ` +
      `tracked ÷ floor ${fmt(alternating['watch-floor'] / alternating.tracked, 3)} (${fmt((alternating.tracked - alternating['watch-floor']) / CHUNKS, 2)} µs a chunk beyond it)`,
  );
  return results;
}
