import { PassThrough, Readable } from 'node:stream';
import { trackStreamingBody } from '../../src/nest/response-shapes/streaming-body.tracker.js';

function recorder() {
  const chunks: string[] = [];
  const ends: boolean[] = [];
  return { chunks, ends, observer: { observeChunk: (chunk: unknown) => chunks.push(String(chunk)), endStream: (delivered: boolean) => ends.push(delivered) } };
}

async function readAll(body: unknown): Promise<string> {
  let text = '';
  for await (const chunk of body as AsyncIterable<unknown>) {
    text += String(chunk);
  }
  return text;
}

describe('trackStreamingBody', () => {
  it('observes a Readable that holds nothing yet in place: the same stream, every chunk, one end', async () => {
    const { chunks, ends, observer } = recorder();
    const source = Readable.from(['a', 'b', 'c']);
    const tracked = trackStreamingBody(source, observer);
    expect(tracked).toBe(source);
    expect(await readAll(tracked)).toBe('abc');
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toEqual(['a', 'b', 'c']);
    expect(ends).toEqual([true]);
  });

  it('sees the chunks a Readable buffered before it was returned', async () => {
    const { chunks, ends, observer } = recorder();
    const source = new PassThrough();
    source.write('early');
    setImmediate(() => source.end('late'));
    const tracked = trackStreamingBody(source, observer);
    expect(await readAll(tracked)).toBe('earlylate');
    expect(chunks.join('')).toBe('earlylate');
    expect(ends).toEqual([true]);
  });

  it('reports a Readable that emits no close, destroyed before its end, as not delivered', async () => {
    const { ends, observer } = recorder();
    const source = new Readable({ emitClose: false, read() {} });
    const tracked = trackStreamingBody(source, observer) as Readable;
    source.push('x');
    tracked.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual([false]);
  });

  it('reports a Readable destroyed before its end once, as not delivered', async () => {
    const { ends, observer } = recorder();
    const source = new PassThrough();
    const tracked = trackStreamingBody(source, observer) as Readable;
    source.write('x');
    tracked.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual([false]);
  });

  it('reports a Readable that fails before its end once, as not delivered', async () => {
    const { ends, observer } = recorder();
    const source = new Readable({
      read() {
        this.destroy(new Error('upstream failed'));
      },
    });
    const tracked = trackStreamingBody(source, observer) as Readable;
    await expect(readAll(tracked)).rejects.toThrow('upstream failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual([false]);
  });

  it('reports a Readable that only emits an error (no auto-destroy) as not delivered', async () => {
    const { ends, observer } = recorder();
    const source = new Readable({ autoDestroy: false, read() {} });
    const tracked = trackStreamingBody(source, observer) as Readable;
    source.push('x');
    tracked.emit('error', new Error('upstream failed'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual([false]);
  });

  it('reports a Readable read to its end and then destroyed once, as delivered', async () => {
    const { ends, observer } = recorder();
    const source = new Readable({ autoDestroy: false, read() {} });
    const tracked = trackStreamingBody(source, observer) as Readable;
    source.push('x');
    source.push(null);
    expect(await readAll(tracked)).toBe('x');
    tracked.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual([true]);
  });

  it('observes a Readable tracked twice (returned for two requests) through both, once each', async () => {
    const first = recorder();
    const second = recorder();
    const source = Readable.from(['a', 'b']);
    expect(trackStreamingBody(source, first.observer)).toBe(source);
    const again = trackStreamingBody(source, second.observer);
    expect(again).not.toBe(source);
    expect(await readAll(again)).toBe('ab');
    await new Promise((resolve) => setImmediate(resolve));
    expect([first.chunks, second.chunks]).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect([first.ends, second.ends]).toEqual([[true], [true]]);
  });
});
