import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { ExpositionBuffers } from '../src/exposition/exposition-writer.js';
import { renderStoreAndRegistry, renderStoreAndRegistryProtobuf } from '../src/exposition/registry-exposition.js';
import { RenderSlices } from '../src/exposition/render-slices.js';
import { LlmMetricsService, renderProtobuf, renderRegistry } from '../src/index.js';
import { ENDPOINTS, requestEveryLabelSet } from './support/traffic.js';
import { fmt, heading, interleavedRounds, line, summarize } from './support/rounds.js';

/** A service and its registry after one request of every model, endpoint, request type and status. */
function serviceWithTraffic(models: number): { registry: Registry; service: LlmMetricsService } {
  const registry = new Registry();
  const service = new LlmMetricsService('nv_llm', { maxModels: models });
  service.register(registry);
  requestEveryLabelSet(service, models);
  return { registry, service };
}

/**
 * The longest the event loop was held while `render` ran: the largest gap
 * between two turns of a live token stream (a setImmediate loop, as a stream
 * writing its chunks), and `monitorEventLoopDelay`'s largest delay.
 */
async function stallDuring(render: () => Promise<unknown>): Promise<{ renderMs: number; streamGapMs: number; loopDelayMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let last = 0;
  let worst = 0;
  let streaming = true;
  const token = () => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    if (streaming) {
      setImmediate(token);
    }
  };
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.enable();
  last = performance.now();
  setImmediate(token);
  const start = performance.now();
  await render();
  const renderMs = performance.now() - start;
  streaming = false;
  await new Promise((resolve) => setImmediate(resolve));
  delay.disable();
  return { renderMs, streamGapMs: worst, loopDelayMs: delay.max / 1e6 };
}

/**
 * Time to render the exposition with N models × every endpoint, request
 * type and status: prom-client's `registry.metrics()` against this
 * library's renderer (`renderRegistry`: labels rendered once per series,
 * the work in slices of 1 ms), interleaved; then the event loop's longest
 * stall while each renders 1 000 models beside a live stream.
 */
export async function scrapeCost(sizes: number[], renders: number) {
  heading(
    `Scrape cost: N models × ${ENDPOINTS.length} endpoints × 2 request types × 2 statuses, every streaming histogram (${renders} renders each, interleaved)`,
  );
  const perModel: number[] = [];
  for (const models of sizes) {
    const { registry, service } = serviceWithTraffic(models);
    // Three renders of each are left out of the figures: ours renders each series' labels at its first, once.
    const identical = Buffer.concat(await renderRegistry(registry, service, 'text')).toString('utf8') === (await registry.metrics());
    for (let i = 0; i < 2; i++) {
      await renderRegistry(registry, service, 'text');
      await registry.metrics();
    }
    const bytes = (await registry.metrics()).length;
    // Our buffers are given back once a render is done, as the route gives them back once a scrape is sent.
    const buffers = new ExpositionBuffers();
    // Ours alone first, for its cost per model: prom-client's garbage (hundreds of MB at 10 000 models) not around yet.
    const alone: number[] = [];
    for (let i = 0; i < renders; i++) {
      const start = performance.now();
      buffers.giveBack(await renderStoreAndRegistry(registry, service.store, 'text', { buffers }));
      alone.push(performance.now() - start);
    }
    const aloneMs = summarize(alone).median;
    const results = await interleavedRounds(['prom-client', 'ours'] as const, renders, async (variant) => {
      const start = performance.now();
      if (variant === 'ours') {
        buffers.giveBack(await renderStoreAndRegistry(registry, service.store, 'text', { buffers }));
      } else {
        await registry.metrics();
      }
      return performance.now() - start;
    });
    const [theirs, ours] = [results['prom-client'].median, results.ours.median];
    perModel.push(aloneMs / models);
    line(
      `- ${String(models).padStart(6)} models (${fmt(bytes / 1e6, 1)} MB): prom-client ${fmt(theirs, 1)} ms, ours ${fmt(ours, 1)} ms ` +
        `[${fmt(results.ours.min, 1)}–${fmt(results.ours.max, 1)}] (alone ${fmt(aloneMs, 1)} ms, ${fmt((aloneMs / models) * 1000, 1)} µs per model); ` +
        `prom-client ÷ ours: ${fmt(theirs / ours, 1)} (target ≥ 5); same text: ${identical ? 'yes' : 'NO'}`,
    );
  }
  line(
    `- ours alone, µs per model, largest ÷ smallest size: ${fmt(perModel[perModel.length - 1] / perModel[0], 2)} (target ≤ 1.3; 1.0 = linear)`,
  );

  const { registry, service } = serviceWithTraffic(1000);
  const buffers = new ExpositionBuffers();
  // A first render of each, outside the figures: ours renders each series' labels then, once.
  await registry.metrics();
  await renderRegistry(registry, service, 'text');
  const stalls = {
    'prom-client': [] as number[],
    ours: [] as number[],
    idle: [] as number[],
    slices: [] as number[],
    protobufSlices: [] as number[],
  };
  const loopDelays = { 'prom-client': [] as number[], ours: [] as number[], idle: [] as number[] };
  let oursMs = 10;
  for (let i = 0; i < renders; i++) {
    let slices = new RenderSlices();
    for (const [variant, render] of [
      ['prom-client', () => registry.metrics()],
      [
        'ours',
        async () => {
          slices = new RenderSlices();
          buffers.giveBack(await renderStoreAndRegistry(registry, service.store, 'text', { slices, buffers }));
        },
      ],
      // No scrape, as long as ours took: the stalls the machine and the collector cause anyway.
      ['idle', () => new Promise((resolve) => setTimeout(resolve, oursMs))],
    ] as const) {
      const run = await stallDuring(render);
      stalls[variant].push(run.streamGapMs);
      loopDelays[variant].push(run.loopDelayMs);
      if (variant === 'ours') {
        oursMs = run.renderMs;
      }
    }
    stalls.slices.push(slices.stats.longestMs);
  }
  // The protobuf format (Prometheus with native histograms): from getMetricsAsJSON() in one block, against ours in slices.
  const protobuf = await interleavedRounds(['getMetricsAsJSON', 'ours'] as const, renders, async (variant) => {
    const start = performance.now();
    if (variant === 'ours') {
      const slices = new RenderSlices();
      buffers.giveBack(await renderStoreAndRegistryProtobuf(registry, service.store, { slices, buffers }));
      stalls.protobufSlices.push(slices.stats.longestMs);
    } else {
      await renderProtobuf(registry);
    }
    return performance.now() - start;
  });
  const median = (values: number[]) => fmt(summarize(values).median, 2);
  const max = (values: number[]) => fmt(Math.max(...values), 2);
  line(
    `- 1 000 models beside a live stream (${renders} scrapes each; ms, median / max): longest gap between two turns of the stream: ` +
      `prom-client ${median(stalls['prom-client'])} / ${max(stalls['prom-client'])} (its whole render), ours ${median(stalls.ours)} / ${max(stalls.ours)}, ` +
      `no scrape ${median(stalls.idle)} / ${max(stalls.idle)}; monitorEventLoopDelay max: ours ${median(loopDelays.ours)}, ` +
      `no scrape ${median(loopDelays.idle)} (it cannot sample inside prom-client's one block); our longest slice ${median(stalls.slices)} / ${max(stalls.slices)} (target ≤ 2)`,
  );
  line(
    `- 1 000 models in the protobuf format: from getMetricsAsJSON() ${fmt(protobuf.getMetricsAsJSON.median, 1)} ms (one block), ` +
      `ours ${fmt(protobuf.ours.median, 1)} ms, its longest slice ${median(stalls.protobufSlices)} / ${max(stalls.protobufSlices)} ms`,
  );
}
