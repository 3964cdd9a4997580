import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { line } from './support/rounds.js';
import { answerMetricsCost } from './answer-metrics.bench.js';
import { floor } from './floor.bench.js';
import { gatewayCost } from './gateway.bench.js';
import { memory } from './memory.bench.js';
import { openTelemetryCost } from './opentelemetry.bench.js';
import { peerComparison } from './peer.bench.js';
import { requestLabelsCost } from './request-labels.bench.js';
import { schemaCost } from './schemas.bench.js';
import { sloCost } from './slo.bench.js';
import { scrapeCost } from './scrape.bench.js';
import { scrapeOverHttp } from './scrape-http.bench.js';
import { renderMemory } from './render-memory.bench.js';
import { streamingOverhead } from './streaming-overhead.bench.js';
import { unaryOverhead } from './unary-overhead.bench.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);

line(`# nestjs-llm-metrics benchmarks`);
line(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}${quick ? ' (quick)' : ''}`);

const wants = (name: string) => only === undefined || only.split(',').includes(name);

if (wants('unary')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await unaryOverhead(adapter, quick ? 5 : 201, quick ? 500 : 300);
  }
}
if (wants('streaming')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await streamingOverhead(adapter, quick ? 5 : 151, quick ? 50 : 30);
  }
}
if (wants('answers')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await answerMetricsCost(adapter, quick ? 5 : 151, quick ? 20 : 30);
  }
}
if (wants('slo')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await sloCost(adapter, quick ? 5 : 151, 300, quick ? 20 : 30);
  }
}
if (wants('gateway')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await gatewayCost(adapter, quick ? 5 : 61, quick ? 5 : 10);
  }
}
if (wants('schemas')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await schemaCost(adapter, quick ? 5 : 101, quick ? 300 : 300, quick ? 20 : 30);
  }
}
if (wants('opentelemetry')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await openTelemetryCost(adapter, quick ? 5 : 201, 300);
  }
}
if (wants('labels')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await requestLabelsCost(adapter, quick ? 5 : 201, 300);
  }
}
if (wants('peer')) {
  for (const adapter of ['express', 'fastify'] as const) {
    await peerComparison(adapter, quick ? 5 : 201, quick ? 500 : 300);
  }
}
if (wants('floor')) {
  await floor(quick ? 300 : 1000);
}
if (wants('scrape')) {
  await scrapeCost(quick ? [100, 1000] : [100, 1000, 10000], quick ? 3 : 5);
}
if (wants('scrape-http')) {
  if (only === 'scrape-http') {
    await scrapeOverHttp(1000, quick ? 10 : 41);
  } else {
    // A real HTTP server, in a process of its own: the in-process benches' apps (light-my-request's) leave nothing behind in it.
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), '--only=scrape-http', ...(quick ? ['--quick'] : [])],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
      },
    );
    process.stdout.write(child.stdout.split('\n').slice(2).join('\n'));
  }
}
if (wants('memory')) {
  memory(quick ? 100_000 : 1_000_000, 100_000);
  await renderMemory(1000);
}
