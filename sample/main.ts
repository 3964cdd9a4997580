import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

const DEFAULT_PORT = 3000;

/** `PORT` from the environment, or the default port. */
function portFromEnv(): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw.trim() === '') {
    return DEFAULT_PORT;
  }
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

/** `ADAPTER` from the environment: `express` (default) or `fastify`. */
function adapterFromEnv(): 'express' | 'fastify' {
  const raw = process.env.ADAPTER?.trim() || 'express';
  if (raw !== 'express' && raw !== 'fastify') {
    throw new RangeError(`ADAPTER must be "express" or "fastify", got "${raw}"`);
  }
  return raw;
}

async function bootstrap(): Promise<void> {
  const adapter = adapterFromEnv();
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(AppModule.register(), new FastifyAdapter())
      : await NestFactory.create(AppModule.register());
  // Closes the app (and releases its metrics) on SIGTERM / SIGINT.
  app.enableShutdownHooks();
  const port = portFromEnv();
  await app.listen(port, process.env.HOST || '0.0.0.0');
  const logger = new Logger('Bootstrap');
  const upstream = process.env.UPSTREAM_URL?.trim();
  logger.log(`OpenAI-compatible API on http://localhost:${port}/v1 (${adapter})${upstream ? `, a gateway to ${upstream}` : ''}`);
  logger.log(`Prometheus metrics on http://localhost:${port}/metrics (${process.env.METRICS_SCHEMA?.trim() || 'dynamo-0.2.1'} schema)`);
}

void bootstrap();
