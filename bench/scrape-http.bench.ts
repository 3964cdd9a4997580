import { Controller, Get, Header, Inject, Module, StreamableFile } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  INPUT_SEQUENCE_TOKENS_BUCKETS,
  INTER_TOKEN_LATENCY_BUCKETS,
  LLM_METRICS_REGISTRY,
  LlmMetricsModule,
  LlmMetricsService,
  OUTPUT_SEQUENCE_TOKENS_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
} from '../src/index.js';
import { fmt, heading, line, summarize } from './support/rounds.js';
import { parseExposition } from '../test/support/exposition.js';
import { requestEveryLabelSet } from './support/traffic.js';

/** The same registry, served by prom-client's `registry.metrics()`: what an app without this library's renderer serves. */
@Controller()
class PromClientMetricsController {
  constructor(@Inject(LLM_METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('prom-client')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  @Get('prom-client-own')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  own(): Promise<string> {
    return ownRegistry.metrics();
  }

  /** The floor: the bytes of the last scrape of `/metrics`, sent as they are (no render at all). */
  @Get('static')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  static(): StreamableFile {
    return new StreamableFile(staticBody.bytes);
  }
}

/** What `/static` sends: set before its scrapes. */
const staticBody = { bytes: Buffer.alloc(0) };

/** A registry of prom-client's own metrics (Counter, Gauge, Histogram) holding what the traffic recorded, as an app without this library keeps it. */
const ownRegistry = new Registry();

/** prom-client's own metrics of the 0.2.1 schema and its default answer counters, for `ownRegistry`: the same names, labels and buckets as the library's. */
function promClientOwnMetrics() {
  const registers = [ownRegistry];
  const histogram = (suffix: string, help: string, buckets: readonly number[]) =>
    new Histogram({ name: `nv_llm_http_service_${suffix}`, help, labelNames: ['model'], buckets: [...buckets], registers });
  return {
    requests: new Counter({
      name: 'nv_llm_http_service_requests_total',
      help: 'Total number of LLM requests processed',
      labelNames: ['model', 'endpoint', 'request_type', 'status'],
      registers,
    }),
    finishReasons: new Counter({
      name: 'nv_llm_http_service_finish_reasons_total',
      help: 'Total number of LLM requests by the reason their answer finished',
      labelNames: ['model', 'endpoint', 'finish_reason'],
      registers,
    }),
    inflight: new Gauge({
      name: 'nv_llm_http_service_inflight_requests',
      help: 'Number of inflight requests',
      labelNames: ['model'],
      registers,
    }),
    duration: histogram('request_duration_seconds', 'Duration of LLM requests', REQUEST_DURATION_BUCKETS),
    ttft: histogram('time_to_first_token_seconds', 'Time to first token in seconds', TIME_TO_FIRST_TOKEN_BUCKETS),
    itl: histogram('inter_token_latency_seconds', 'Inter-token latency in seconds', INTER_TOKEN_LATENCY_BUCKETS),
    input: histogram('input_sequence_tokens', 'Input sequence length in tokens', INPUT_SEQUENCE_TOKENS_BUCKETS),
    output: histogram('output_sequence_tokens', 'Output sequence length in tokens', OUTPUT_SEQUENCE_TOKENS_BUCKETS),
  };
}

/** The longest gap between two turns of a live stream (a `setImmediate` loop) while each request of a path was in flight. */
class StallProbe {
  private last = performance.now();
  private worst = 0;
  private running = true;
  readonly stalls: Record<string, number[]> = {};

  constructor() {
    const turn = () => {
      const now = performance.now();
      this.worst = Math.max(this.worst, now - this.last);
      this.last = now;
      if (this.running) {
        setImmediate(turn);
      }
    };
    setImmediate(turn);
  }

  start(): void {
    this.worst = 0;
    this.last = performance.now();
  }

  stop(path: string): void {
    (this.stalls[path] ??= []).push(this.worst);
  }

  end(): void {
    this.running = false;
  }
}

/** The series of a text exposition, values left out and each one's labels sorted: what two registries must share to be compared. */
function seriesOf(text: string): Set<string> {
  return new Set(
    parseExposition(text).map(
      ({ name, labels }) =>
        `${name}{${Object.entries(labels)
          .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
          .sort()
          .join(',')}}`,
    ),
  );
}

/** Fails unless the route and prom-client's own metrics hold the same series: a comparison of different scrapes is no result. */
function assertSameSeries(ours: string, theirOwn: string): void {
  const a = seriesOf(ours);
  const b = seriesOf(theirOwn);
  const missing = [...a].find((series) => !b.has(series)) ?? [...b].find((series) => !a.has(series));
  if (missing !== undefined) {
    throw new Error(`the scrape bench's two stores differ (${a.size} and ${b.size} series), e.g. at ${missing}`);
  }
}

/** Runs the scraper in a process of its own against `port`, and returns what it measured. */
function runScraper(port: number, rounds: number, paths: string[]): Promise<Record<string, { ms: number[]; bytes: number }>> {
  const script = fileURLToPath(new URL('./support/scraper.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, String(port), String(rounds), ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`the scraper exited with ${code}`))));
  });
}

/**
 * A scrape of `models` models over HTTP, timed by a scraper in another
 * process (request sent → last byte received), the library's route against
 * `registry.metrics()` of the same registry served by a route of the same
 * app, alternating; and the longest stall of the server's event loop while
 * each was served, beside a live stream.
 */
export async function scrapeOverHttp(models: number, rounds: number) {
  @Module({ imports: [LlmMetricsModule.forRoot({ maxModels: models })], controllers: [PromClientMetricsController] })
  class ScrapeBenchModule {}
  const app = await NestFactory.create(ScrapeBenchModule, { logger: false });
  const probe = new StallProbe();
  app.use((request: { path: string }, response: { on(event: 'finish', listener: () => void): void }, next: () => void) => {
    probe.start();
    response.on('finish', () => probe.stop(request.path));
    next();
  });
  await app.listen(0, '127.0.0.1');
  const service = app.get(LlmMetricsService);
  const own = promClientOwnMetrics();
  requestEveryLabelSet(service, models, ({ model, endpoint, streaming, ok }) => {
    // The same request in prom-client's own metrics: its labels, and latencies of the same magnitudes.
    const labels = { model };
    const m = Number(model.slice('model-'.length));
    own.requests.inc({ ...labels, endpoint, request_type: streaming ? 'stream' : 'unary', status: ok ? 'success' : 'error' });
    // Nothing in the traffic names a finish reason: `none`, as the library counts it.
    own.finishReasons.inc({ ...labels, endpoint, finish_reason: 'none' });
    own.inflight.set(labels, 0);
    own.duration.observe(labels, 0.0004 * (m % 7));
    if (streaming) {
      own.ttft.observe(labels, 0.0001 * (m % 5));
      own.itl.observe(labels, 0.00002 * (m % 3));
    }
    if (ok) {
      own.input.observe(labels, 10);
      own.output.observe(labels, 2);
    }
  });
  const { port } = app.getHttpServer().address() as AddressInfo;
  // Ours alone first, for the stalls: the other route's garbage (hundreds of MB) is not around yet.
  const alone = await runScraper(port, rounds, ['/metrics']);
  const stalls = summarize(probe.stalls['/metrics'].slice(1));
  staticBody.bytes = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/metrics`)).arrayBuffer());
  assertSameSeries(staticBody.bytes.toString(), await ownRegistry.metrics());
  const floor = await runScraper(port, rounds, ['/static']);
  const results = await runScraper(port, rounds, ['/metrics', '/prom-client', '/prom-client-own']);
  probe.end();
  await app.close();
  const ours = summarize(results['/metrics'].ms);
  const theirs = summarize(results['/prom-client'].ms);
  const theirOwn = summarize(results['/prom-client-own'].ms);
  heading(
    `Scrape over HTTP: ${models} models, from a scraper in another process (${rounds} scrapes each, alternating; ms: median [min–max])`,
  );
  line(
    `- the library's route: ${fmt(ours.median, 1)} ms [${fmt(ours.min, 1)}–${fmt(ours.max, 1)}] for ${fmt(results['/metrics'].bytes / 1e6, 1)} MB; ` +
      `registry.metrics() served by a route: ${fmt(theirs.median, 1)} ms [${fmt(theirs.min, 1)}–${fmt(theirs.max, 1)}]`,
  );
  line(
    `- prom-client's own Counter, Gauge and Histogram holding the same traffic, served by registry.metrics(): ${fmt(theirOwn.median, 1)} ms for ` +
      `${fmt(results['/prom-client-own'].bytes / 1e6, 1)} MB; prom-client's own ÷ ours: ${fmt(theirOwn.median / ours.median, 1)}`,
  );
  line(
    `- prom-client ÷ ours: ${fmt(theirs.median / ours.median, 1)} (target ≥ 8); ours alone: ${fmt(summarize(alone['/metrics'].ms).median, 1)} ms; ` +
      `the same bytes sent without a render: ${fmt(summarize(floor['/static'].ms).median, 1)} ms`,
  );
  line(
    `- longest event-loop stall while the route served a scrape (ours alone): median ${fmt(stalls.median, 2)} ms, max ${fmt(stalls.max, 2)} ms (target ≤ 2); ` +
      `while registry.metrics() did: median ${fmt(summarize(probe.stalls['/prom-client']).median, 1)} ms`,
  );
  return { ours, theirs, stalls };
}
