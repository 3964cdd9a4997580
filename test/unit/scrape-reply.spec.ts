import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ENCODE_FAILURE_BODY, type MetricsReply, renderWhileSending } from '../../src/nest/scrape-reply.js';

/*
 * How the metrics route sends a scrape while it renders it, against a
 * reply shaped like Fastify's (a body handed to `send()`): what the scraper
 * receives when the render is done in one slice, in several, or fails
 * before or after the first bytes went out.
 */

/** A reply that records its status, headers and body. */
function recordingReply() {
  const reply = {
    statusCode: 0,
    headers: {} as Record<string, string>,
    body: undefined as string | Buffer | Readable | undefined,
    status(code: number) {
      reply.statusCode = code;
      return reply;
    },
    header(name: string, value: string) {
      reply.headers[name.toLowerCase()] = value;
      return reply;
    },
    send(body: string | Buffer | Readable) {
      reply.body = body;
      return reply;
    },
  };
  return reply satisfies MetricsReply;
}

const bytes = (value: string) => Buffer.from(value, 'utf8');

describe('sending a scrape while it renders', () => {
  it('sends a render done in one slice whole, with its length', async () => {
    const reply = recordingReply();
    await renderWhileSending(
      reply,
      'text/plain',
      async () => [bytes('a 1\n'), bytes('b 2\n')],
      () => {},
    );
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-length']).toBe('8');
    expect(await text(reply.body as Readable)).toBe('a 1\nb 2\n');
  });

  it('sends the buffers of each slice as it ends, then the rest, in order and without a length', async () => {
    const reply = recordingReply();
    const bodyWhenSecondSliceSent: (string | Buffer | Readable | undefined)[] = [];
    await renderWhileSending(
      reply,
      'text/plain',
      async (send) => {
        await send([bytes('a 1\n'), bytes('b 2\n')]);
        bodyWhenSecondSliceSent.push(reply.body);
        await send([bytes('c 3\n')]);
        return [bytes('d 4\n')];
      },
      () => {},
    );
    expect(bodyWhenSecondSliceSent[0]).toBeInstanceOf(Readable);
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.headers['content-length']).toBeUndefined();
    expect(await text(reply.body as Readable)).toBe('a 1\nb 2\nc 3\nd 4\n');
  });

  it(`answers 500 "${ENCODE_FAILURE_BODY}" when the render fails before sending anything`, async () => {
    const reply = recordingReply();
    await renderWhileSending(
      reply,
      'text/plain',
      async () => {
        throw new Error('a collector failed');
      },
      () => {},
    );
    expect(reply.statusCode).toBe(500);
    expect(reply.body).toBe(ENCODE_FAILURE_BODY);
  });

  it('cuts the body when the render fails after sending some of it: the scraper never reads a partial scrape as whole', async () => {
    const reply = recordingReply();
    await renderWhileSending(
      reply,
      'text/plain',
      async (send) => {
        await send([bytes('a 1\n')]);
        throw new Error('the render failed');
      },
      () => {},
    );
    expect(reply.statusCode).toBe(200);
    const body = reply.body as Readable;
    expect(body.destroyed).toBe(true);
    expect(body.readableEnded).toBe(false);
  });
});
