import type { INestApplication, LoggerService, NestApplicationOptions, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Nest app listening on 127.0.0.1 at an ephemeral port. */
export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  close(): Promise<void>;
}

/** The HTTP adapters every e2e case runs on. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** What an app is started with: its adapter (default Express), a logger (default: silent), a set-up before it listens. */
export interface StartOptions {
  logger?: LoggerService;
  adapter?: AdapterName;
  /** Called before the app listens, e.g. to set a global prefix. */
  configure?: (app: INestApplication) => void;
}

/** Creates an app of a compiled testing module and listens on loopback at an ephemeral port. */
export async function listen(moduleRef: TestingModule, options: StartOptions = {}): Promise<RunningApp> {
  const appOptions: NestApplicationOptions = { logger: options.logger ?? false };
  const app =
    options.adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), appOptions)
      : moduleRef.createNestApplication(appOptions);
  options.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Compiles `module` into an app and listens on loopback (see `listen`). */
export async function startApp(module: Type<unknown> | ReturnType<typeof Object>, options: StartOptions = {}): Promise<RunningApp> {
  return listen(await Test.createTestingModule({ imports: [module] }).compile(), options);
}

/** GETs the metrics route, as a scraper sending `accept` (default: none), and returns its text. */
export async function scrape(baseUrl: string, path = '/metrics', accept?: string): Promise<string> {
  const response = await fetch(`${baseUrl}${path}`, { headers: accept === undefined ? {} : { accept } });
  if (response.status !== 200) {
    throw new Error(`scrape ${path}: ${response.status} ${await response.text()}`);
  }
  return response.text();
}

/** POSTs JSON and returns status and body text. */
export async function postJson(
  baseUrl: string,
  path: string,
  body: unknown,
): Promise<{ status: number; text: string; contentType: string | null }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text(), contentType: response.headers.get('content-type') };
}

/**
 * Sends a request, reads the response until `chunks` body chunks arrived
 * (or until `afterMs` passed since it was sent), then destroys the socket: a client that goes away
 * mid-stream. Resolves with what was received.
 */
export function abandonAfter(
  baseUrl: string,
  path: string,
  options: { method?: string; body?: unknown; chunks?: number; afterMs?: number; headers?: Record<string, string> },
): Promise<string> {
  const url = new URL(path, baseUrl);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    let received = '';
    let count = 0;
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'POST',
        headers: {
          ...options.headers,
          ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.toString();
          count += 1;
          if (options.chunks !== undefined && count >= options.chunks) {
            abandon();
          }
        });
        res.on('end', () => resolve(received));
      },
    );
    const abandon = () => {
      req.destroy();
      resolve(received);
    };
    if (options.afterMs !== undefined) {
      setTimeout(abandon, options.afterMs);
    }
    req.on('error', (err) => (req.destroyed ? resolve(received) : reject(err)));
    if (payload) {
      req.write(payload);
    }
    req.end();
  });
}

/** Polls `read` until `predicate` holds, or fails after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!predicate(value)) {
    if (Date.now() > deadline) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

/** A Nest logger that keeps what it is told, by level. */
export class RecordingLogger implements LoggerService {
  readonly entries: { level: string; message: unknown; context: unknown }[] = [];

  private record(level: string, message: unknown, rest: unknown[]): void {
    this.entries.push({ level, message, context: rest.at(-1) });
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.record('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.record('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.record('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.record('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.record('verbose', message, rest);
  }

  /** The entries of `level` logged with `context`. */
  of(level: string, context: string) {
    return this.entries.filter((entry) => entry.level === level && entry.context === context);
  }
}
