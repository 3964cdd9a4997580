import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { Readable } from 'node:stream';
import { Endpoint, LlmMetricsModule, type LlmMetricsModuleOptions, TrackLlm } from '../src/index.js';
import { type AdapterName, appsPerVariant, timeRoutes } from './support/bench-app.js';
import { heading, line, ratioLine, spread } from './support/rounds.js';

const CHUNKS = 64;
const REASONING_CHUNKS = 8;

/**
 * A stream as OpenAI-compatible servers send it: every chunk with
 * `"finish_reason":null`, reasoning first (vLLM's `reasoning_content`), then
 * content, a last chunk with the finish reason, the usage, `[DONE]`.
 */
function answerStream(): Readable {
  const chunk = (delta: string, finish: string) =>
    `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-model","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]}\n\n`;
  const lines: string[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    lines.push(chunk(i < REASONING_CHUNKS ? `{"reasoning_content":"think${i} "}` : `{"content":"tok${i} "}`, 'null'));
  }
  lines.push(chunk('{}', '"stop"'));
  lines.push(
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":64,"total_tokens":76,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":8}}}\n\n',
  );
  lines.push('data: [DONE]\n\n');
  return Readable.from(lines);
}

@Controller()
class AnswerBenchController {
  @Post('untracked')
  @HttpCode(200)
  untracked(@Body() _body: { model: string }): Readable {
    return answerStream();
  }

  @Post('tracked')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  tracked(@Body() _body: { model: string }): Readable {
    return answerStream();
  }
}

function answerBenchModule(options: LlmMetricsModuleOptions): new () => unknown {
  @Module({ imports: [LlmMetricsModule.forRoot(options)], controllers: [AnswerBenchController] })
  class AnswerBenchModule {}
  return AnswerBenchModule;
}

/**
 * Tokens per second of a tracked reasoning stream with the answer metrics
 * off, off again (the run's noise), at their defaults (the counters) and all
 * on (the time to first content token too): one app each, in interleaved rounds.
 */
export async function answerMetricsCost(adapter: AdapterName, rounds: number, streamsPerRound: number) {
  const apps = await appsPerVariant(
    {
      off: answerBenchModule({ answerMetrics: false }),
      again: answerBenchModule({ answerMetrics: false }),
      counters: answerBenchModule({}),
      all: answerBenchModule({ answerMetrics: true }),
    },
    adapter,
  );
  const variants = ['off/untracked', 'off/tracked', 'again/tracked', 'counters/tracked', 'all/tracked'] as const;
  const results = await timeRoutes(apps.request, variants, {
    rounds,
    perRound: streamsPerRound,
    payload: { model: 'bench-model', stream: true },
    isExpected: (body) => body.endsWith('data: [DONE]\n\n'),
  });
  await apps.close();

  heading(`Answer metrics, ${adapter} (${rounds} rounds × ${streamsPerRound} streams of ${CHUNKS + 2} chunks; µs: median [min–max])`);
  for (const variant of variants) {
    line(`- ${variant.padEnd(18)} ${spread(results[variant])} µs/stream`);
  }
  // µs: tokens/s(b) / tokens/s(a) = µs(a) / µs(b).
  ratioLine('tokens/s off again ÷ off (control)', results['off/tracked'].samples, results['again/tracked'].samples, '1.0');
  ratioLine('tokens/s answer counters ÷ off', results['off/tracked'].samples, results['counters/tracked'].samples, '≥ 0.98');
  ratioLine('tokens/s all answer metrics ÷ off', results['off/tracked'].samples, results['all/tracked'].samples, '≥ 0.98');
  ratioLine('tokens/s tracked, off ÷ untracked', results['off/untracked'].samples, results['off/tracked'].samples, '(information)');
  ratioLine('tokens/s tracked, all ÷ untracked', results['off/untracked'].samples, results['all/tracked'].samples, '(information)');
}
