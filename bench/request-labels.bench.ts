import { type AdapterName, appsPerVariant, timeRoutes, unaryBenchModule } from './support/bench-app.js';
import { heading, line, ratioLine, spread } from './support/rounds.js';

/**
 * Requests per second of the tracked unary route without request labels
 * (none), and with one `tenant` label read from a header (tenant), on
 * requests_total and the token histograms: one app each, timed in
 * interleaved rounds. A second app without labels shows the noise of the run.
 */
export async function requestLabelsCost(adapter: AdapterName, rounds: number, perRound: number) {
  const apps = await appsPerVariant(
    {
      none: unaryBenchModule(),
      again: unaryBenchModule(),
      tenant: unaryBenchModule({ labels: { tenant: { from: (request) => request.headers?.['x-tenant'] } } }),
    },
    adapter,
    { 'x-tenant': 'acme' },
  );
  const variants = ['none/tracked', 'again/tracked', 'tenant/tracked'] as const;
  const results = await timeRoutes(apps.request, variants, { rounds, perRound, payload: { model: 'bench-model' } });
  await apps.close();

  heading(`Request labels, ${adapter} (${rounds} rounds × ${perRound} requests; µs: median [min–max])`);
  for (const variant of variants) {
    line(`- unary ${variant.padEnd(22)} ${spread(results[variant])} µs/request`);
  }
  ratioLine('unary rps none again ÷ none (control)', results['none/tracked'].samples, results['again/tracked'].samples, '1.0');
  ratioLine('unary rps one tenant label ÷ none', results['none/tracked'].samples, results['tenant/tracked'].samples, '≥ 0.98');
}
