import { once } from 'node:events';
import { ServerResponse } from 'node:http';
import { PassThrough, Readable } from 'node:stream';

/** Body of the 500 answer when the registry cannot be encoded (as in Dynamo). */
export const ENCODE_FAILURE_BODY = 'Failed to encode metrics';

/** The part of an Express response or a Fastify reply the metrics route uses. */
export interface MetricsReply {
  status(code: number): MetricsReply;
  header(name: string, value: string): MetricsReply;
  send(body: string | Buffer | Readable): unknown;
  /** Fastify's reply: the Node.js response. */
  raw?: ServerResponse;
}

/** The Node.js response behind `reply`, if it tells it. */
function responseOf(reply: MetricsReply): ServerResponse | undefined {
  return reply instanceof ServerResponse ? reply : reply.raw;
}

/** Hands `body` to `reply`: piped into Express's response (a Node.js response), as a stream to Fastify's reply. */
function sendBody(reply: MetricsReply, body: Readable): void {
  if (reply instanceof ServerResponse) {
    body.pipe(reply);
  } else {
    reply.send(body);
  }
}

/**
 * Sends `chunks` one after the other, with their length, so that no buffer
 * of the whole body is ever made. Once all of it was handed to the system,
 * `onSent` is called (not if the client went away first).
 */
export function sendChunks(reply: MetricsReply, contentType: string, chunks: readonly Buffer[], onSent: () => unknown): void {
  const length = chunks.reduce((total, chunk) => total + chunk.length, 0);
  reply.status(200).header('Content-Type', contentType).header('Content-Length', String(length));
  responseOf(reply)?.once('finish', onSent);
  sendBody(reply, Readable.from(chunks, { objectMode: false }));
}

/**
 * Renders with `render` and sends what it renders while it renders: the
 * buffers of a slice as it ends, waiting whenever the client's connection
 * is full. A render done in one slice is sent whole, with its length. A
 * render that fails before anything was sent answers 500; after, the
 * connection is cut, so that the scraper sees a failed scrape, never a
 * partial one.
 */
export async function renderWhileSending(
  reply: MetricsReply,
  contentType: string,
  render: (send: (filled: Buffer[]) => Promise<void> | undefined) => Promise<Buffer[]>,
  onSent: (sent: readonly Buffer[]) => unknown,
): Promise<void> {
  const response = responseOf(reply);
  const sent: Buffer[] = [];
  let body: PassThrough | undefined;
  const closed = new AbortController();
  const write = (chunks: Buffer[]): boolean => {
    if (body === undefined) {
      body = new PassThrough();
      // Written after the client left: dropped (the render stops at its next wait).
      body.on('error', () => {});
      response?.once('close', () => closed.abort());
      response?.once('finish', () => onSent(sent));
      reply.status(200).header('Content-Type', contentType);
      sendBody(reply, body);
    }
    let full = false;
    for (const chunk of chunks) {
      sent.push(chunk);
      full = !body.write(chunk) || full;
    }
    return full;
  };
  let rest: Buffer[];
  try {
    rest = await render((filled) => (write(filled) ? once(body!, 'drain', { signal: closed.signal }).then(() => undefined) : undefined));
  } catch {
    if (body === undefined) {
      reply.status(500).header('Content-Type', 'text/plain; charset=utf-8').send(ENCODE_FAILURE_BODY);
    } else {
      body.destroy();
      response?.destroy();
    }
    return;
  }
  if (body === undefined) {
    sendChunks(reply, contentType, rest, () => onSent(rest));
  } else {
    write(rest);
    body.end();
  }
}
