import type { SloOption } from '../src/index.js';
import { type AdapterName, alternatingMedians, appsPerVariant, timeRoutes, unaryBenchModule } from './support/bench-app.js';
import { fmt, heading, line, ratioLine, spread } from './support/rounds.js';
import { streamBenchModule } from './streaming-overhead.bench.js';

/** Targets of every objective, per endpoint and per model, as a deployment would set them. */
const SLO: SloOption = {
  default: { duration: 30 },
  chat_completions: { timeToFirstToken: 0.5, timePerOutputToken: 0.05, duration: 60, models: { 'bench-model': { timeToFirstToken: 1 } } },
};

/**
 * Requests (unary) and tokens (streaming) per second of the tracked route
 * with the `slo` option against without, and without again (the run's
 * noise): one app each, in interleaved rounds.
 */
export async function sloCost(adapter: AdapterName, rounds: number, perRound: number, streamsPerRound: number) {
  const variants = ['off/tracked', 'again/tracked', 'slo/tracked'] as const;
  const unary = await appsPerVariant({ off: unaryBenchModule(), again: unaryBenchModule(), slo: unaryBenchModule({ slo: SLO }) }, adapter);
  const unaryResults = await timeRoutes(unary.request, variants, { rounds, perRound, payload: { model: 'bench-model' } });
  // Request by request, the two alternating: the least noisy estimate of the work the objectives add.
  const unaryAlternating = await alternatingMedians(unary.request, ['off/tracked', 'slo/tracked'], Math.max(rounds, 10) * 300, {
    model: 'bench-model',
  });
  await unary.close();
  const streaming = await appsPerVariant(
    { off: streamBenchModule(), again: streamBenchModule(), slo: streamBenchModule({ slo: SLO }) },
    adapter,
  );
  const streamResults = await timeRoutes(streaming.request, variants, {
    rounds,
    perRound: streamsPerRound,
    payload: { model: 'bench-model', stream: true },
    isExpected: (body) => body.endsWith('data: [DONE]\n\n'),
  });
  const streamAlternating = await alternatingMedians(streaming.request, ['off/tracked', 'slo/tracked'], Math.max(rounds, 10) * 40, {
    model: 'bench-model',
    stream: true,
  });
  await streaming.close();

  heading(
    `SLO counters, ${adapter} (${rounds} rounds × ${perRound} requests and × ${streamsPerRound} streams of 64 chunks; µs: median [min–max])`,
  );
  for (const variant of variants) {
    line(`- unary ${variant.padEnd(14)} ${spread(unaryResults[variant])} µs/request`);
  }
  for (const variant of variants) {
    line(`- stream ${variant.padEnd(13)} ${spread(streamResults[variant])} µs/stream`);
  }
  // µs: rate(b) / rate(a) = µs(a) / µs(b).
  ratioLine('unary rps off again ÷ off (control)', unaryResults['off/tracked'].samples, unaryResults['again/tracked'].samples, '1.0');
  ratioLine('unary rps slo ÷ off', unaryResults['off/tracked'].samples, unaryResults['slo/tracked'].samples, '≥ 0.98');
  ratioLine('tokens/s off again ÷ off (control)', streamResults['off/tracked'].samples, streamResults['again/tracked'].samples, '1.0');
  ratioLine('tokens/s slo ÷ off', streamResults['off/tracked'].samples, streamResults['slo/tracked'].samples, '≥ 0.98');
  for (const [what, alternating] of [
    ['unary', unaryAlternating],
    ['stream', streamAlternating],
  ] as const) {
    line(
      `- ${what} by ${what}, alternating: median ${fmt(alternating['off/tracked'])} µs off, ${fmt(alternating['slo/tracked'])} µs slo: ` +
        `slo ÷ off ${fmt(alternating['off/tracked'] / alternating['slo/tracked'], 3)} (target ≥ 0.98)`,
    );
  }
}
