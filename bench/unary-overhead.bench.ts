import { type AdapterName, UnaryBenchModule, createInjectableApp, timeRoutes } from './support/bench-app.js';
import { fmt, heading, line, ratio, spread } from './support/rounds.js';

const VARIANTS = ['undecorated', 'do-nothing', 'tracked'] as const;

/** µs per request of each route, in-process (light-my-request), interleaved rounds. */
export async function unaryOverhead(adapter: AdapterName, rounds: number, requestsPerRound: number) {
  const { app, request } = await createInjectableApp(UnaryBenchModule, adapter);
  const results = await timeRoutes(request, VARIANTS, { rounds, perRound: requestsPerRound, payload: { model: 'bench-model' } });
  await app.close();

  heading(`Unary overhead, ${adapter} (${rounds} rounds × ${requestsPerRound} requests, µs/request: median [min–max])`);
  for (const variant of VARIANTS) {
    line(`- ${variant.padEnd(12)} ${spread(results[variant])} µs`);
  }
  // Requests per second are inverse to µs/request: rps(tracked) / rps(x) = µs(x) / µs(tracked).
  const vsDoNothing = ratio(results['do-nothing'].samples, results.tracked.samples);
  const vsUndecorated = ratio(results.undecorated.samples, results.tracked.samples);
  line(`- rps tracked ÷ do-nothing:  ${fmt(results['do-nothing'].median / results.tracked.median, 3)} (per round ${fmt(vsDoNothing.min, 3)}–${fmt(vsDoNothing.max, 3)}) target ≥ 0.99`);
  line(`- rps tracked ÷ undecorated: ${fmt(results.undecorated.median / results.tracked.median, 3)} (per round ${fmt(vsUndecorated.min, 3)}–${fmt(vsUndecorated.max, 3)}) target ≥ 0.97`);
  return results;
}
