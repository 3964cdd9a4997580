import { type AdapterName, alternatingMedians, createInjectableApp, timeRoutes, unaryBenchModule } from './support/bench-app.js';
import { fmt, heading, line, ratioLine, spread } from './support/rounds.js';

const VARIANTS = ['undecorated', 'do-nothing', 'tracked'] as const;

/** µs per request of each route, in-process (light-my-request), interleaved rounds. */
export async function unaryOverhead(adapter: AdapterName, rounds: number, requestsPerRound: number) {
  const { app, request } = await createInjectableApp(unaryBenchModule(), adapter);
  const results = await timeRoutes(request, VARIANTS, { rounds, perRound: requestsPerRound, payload: { model: 'bench-model' } });
  const alternating = await alternatingMedians(request, ['do-nothing', 'watch-floor', 'tracked'], Math.max(rounds, 10) * 450, {
    model: 'bench-model',
  });
  await app.close();

  heading(`Unary overhead, ${adapter} (${rounds} rounds × ${requestsPerRound} requests, µs/request: median [min–max])`);
  for (const variant of VARIANTS) {
    line(`- ${variant.padEnd(12)} ${spread(results[variant])} µs`);
  }
  ratioLine('rps tracked ÷ do-nothing', results['do-nothing'].samples, results.tracked.samples, '≥ 0.97');
  line(
    `- request by request, alternating: median ${fmt(alternating['do-nothing'])} µs do-nothing, ${fmt(alternating.tracked)} µs tracked: ` +
      `rps tracked ÷ do-nothing ${fmt(alternating['do-nothing'] / alternating.tracked, 3)}, the tracking's own work ${fmt(alternating.tracked - alternating['do-nothing'])} µs`,
  );
  line(
    `- the watch floor (${fmt(alternating['watch-floor'])} µs, alternating with both): rps floor ÷ do-nothing ${fmt(alternating['do-nothing'] / alternating['watch-floor'], 3)}, ` +
      `tracked ÷ floor ${fmt(alternating['watch-floor'] / alternating.tracked, 3)} (the metric work beyond watching the response: ${fmt(alternating.tracked - alternating['watch-floor'])} µs)`,
  );
  ratioLine('rps tracked ÷ undecorated', results.undecorated.samples, results.tracked.samples, '(information)');
  line(
    `- Nest's interceptor pipeline (do-nothing − undecorated): ${fmt(results['do-nothing'].median - results.undecorated.median)} µs; the tracking's own work (tracked − do-nothing): ${fmt(results.tracked.median - results['do-nothing'].median)} µs`,
  );
  return results;
}
