import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { AggregatorRegistry, Registry } from 'prom-client';
import { AppModule } from './app.module.js';

/**
 * The sample on several Node.js workers (`node:cluster`), with one aggregated
 * `/metrics` served by the primary process:
 * - each worker registers the metrics in a registry of its own, mounts no
 *   metrics route (`controller: false`), and hands that registry to
 *   prom-client's cluster support (`new AggregatorRegistry()` then
 *   `AggregatorRegistry.setRegistries([registry])`);
 * - the primary asks every worker for its metrics on each scrape and serves
 *   their sum (`AggregatorRegistry.clusterMetrics()`): counters, histograms and
 *   the in-flight gauge are summed over the workers.
 *
 * `WORKERS` (default 2), `PORT` (API, default 3000, shared by the workers),
 * `METRICS_PORT` (default 9464), `HOST` (default 0.0.0.0).
 */
const host = process.env.HOST || '0.0.0.0';
const port = Number(process.env.PORT || 3000);
const metricsPort = Number(process.env.METRICS_PORT || 9464);
const workers = Number(process.env.WORKERS || 2);
const logger = new Logger('Cluster');

async function startPrimary(): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const metricsServer = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    aggregator.clusterMetrics().then(
      (body) => response.writeHead(200, { 'Content-Type': aggregator.contentType }).end(body),
      (err: unknown) => {
        logger.error(`Aggregating the workers' metrics failed: ${String(err)}`);
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Failed to encode metrics');
      },
    );
  });
  metricsServer.listen(metricsPort, host);
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (message: unknown) => {
      if (message === 'ready' && ++ready === workers) {
        logger.log(`${workers} workers serving http://localhost:${port}/v1; aggregated metrics on http://localhost:${metricsPort}/metrics`);
      }
    });
  }
  const stop = () => {
    metricsServer.close();
    for (const worker of Object.values(cluster.workers ?? {})) {
      worker?.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function startWorker(): Promise<void> {
  const registry = new Registry();
  // Constructing an AggregatorRegistry is what makes a worker answer the primary's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const app = await NestFactory.create(AppModule.register({ metrics: { registry, controller: false } }), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  // Which worker answered, so that the spread of requests can be seen.
  app.use((_request: unknown, response: { setHeader(name: string, value: string): void }, next: () => void) => {
    response.setHeader('x-worker', String(cluster.worker?.id));
    next();
  });
  await app.listen(port, host);
  process.send?.('ready');
}

void (cluster.isPrimary ? startPrimary() : startWorker());
