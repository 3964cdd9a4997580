import type { SchemaName } from '../src/index.js';
import { type AdapterName, appsPerVariant, timeRoutes, unaryBenchModule } from './support/bench-app.js';
import { heading, line, ratioLine, spread } from './support/rounds.js';
import { streamBenchModule } from './streaming-overhead.bench.js';

const SCHEMAS: readonly SchemaName[] = ['dynamo-0.2.1', 'dynamo-frontend'];

/** The same module in one app per schema: a request to `/<schema>/<route>` goes to that schema's app. */
const appsPerSchema = (module: (schema: SchemaName) => new () => unknown, adapter: AdapterName) =>
  appsPerVariant(Object.fromEntries(SCHEMAS.map((schema) => [schema, module(schema)])), adapter);

/** Requests (unary) and tokens (streaming) per second of a tracked route in either schema: the request path runs the same code. */
export async function schemaCost(adapter: AdapterName, rounds: number, perRound: number, streamsPerRound: number) {
  const unary = await appsPerSchema((schema) => unaryBenchModule({ schema }), adapter);
  const variants = SCHEMAS.map((schema) => `${schema}/tracked`);
  const unaryResults = await timeRoutes(unary.request, variants, { rounds, perRound, payload: { model: 'bench-model' } });
  await unary.close();
  const streaming = await appsPerSchema((schema) => streamBenchModule({ schema }), adapter);
  const streamResults = await timeRoutes(streaming.request, variants, {
    rounds,
    perRound: streamsPerRound,
    payload: { model: 'bench-model', stream: true },
    isExpected: (body) => body.endsWith('data: [DONE]\n\n'),
  });
  await streaming.close();

  heading(
    `The two schemas, ${adapter} (${rounds} rounds × ${perRound} requests and × ${streamsPerRound} streams of 64 chunks; µs: median [min–max])`,
  );
  for (const variant of variants) {
    line(`- unary ${variant.padEnd(22)} ${spread(unaryResults[variant])} µs/request`);
  }
  for (const variant of variants) {
    line(`- stream ${variant.padEnd(21)} ${spread(streamResults[variant])} µs/stream`);
  }
  // µs: rps(frontend) / rps(0.2.1) = µs(0.2.1) / µs(frontend).
  ratioLine('unary rps dynamo-frontend ÷ dynamo-0.2.1', unaryResults[variants[0]].samples, unaryResults[variants[1]].samples, '≈ 1.0');
  ratioLine('tokens/s dynamo-frontend ÷ dynamo-0.2.1', streamResults[variants[0]].samples, streamResults[variants[1]].samples, '≈ 1.0');
}
