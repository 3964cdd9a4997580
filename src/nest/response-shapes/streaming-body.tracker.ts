import { StreamableFile } from '@nestjs/common';
import { Readable, Transform, type TransformCallback, pipeline } from 'node:stream';

/** What a tracked streaming body reports: each chunk as it passes, and how it ended. */
export interface StreamObserver {
  /** A chunk is passing to the response. */
  observeChunk(chunk: unknown): void;
  /** The body ended: read to its end (`true`), or failed or was destroyed first (`false`). */
  endStream(delivered: boolean): void;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function' &&
    typeof (value as { then?: unknown }).then !== 'function'
  );
}

/** Whether a handler result is a body that Nest streams: a `StreamableFile`, a `Readable` or another async iterable. */
export function isStreamingBody(value: unknown): value is StreamableFile | Readable | AsyncIterable<unknown> {
  return value instanceof StreamableFile || isAsyncIterable(value);
}

/** Passes chunks through unchanged, showing each to the observer. */
class ObservingTransform extends Transform {
  constructor(
    private readonly observer: StreamObserver,
    objectMode: boolean,
    highWaterMark: number,
  ) {
    super({ objectMode, highWaterMark });
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.observer.observeChunk(chunk);
    callback(null, chunk);
  }
}

/**
 * A stream that passes `source` through unchanged, and reports each chunk
 * and, once, how it ended: read to its end, or failed or destroyed first, as
 * Nest does when the client goes away.
 */
function observe(source: Readable, observer: StreamObserver): Readable {
  const objectMode = source.readableObjectMode;
  const tracked = new ObservingTransform(observer, objectMode, source.readableHighWaterMark);
  const encoding = source.readableEncoding;
  if (encoding && !objectMode) {
    tracked.setEncoding(encoding);
  }
  pipeline(source, tracked, (err) => observer.endStream(!err));
  return tracked;
}

/**
 * Wraps a streaming body so that `observer` sees its chunks and its end. A
 * `StreamableFile` stays one, with the same options and error handlers; an
 * async iterable becomes a `Readable`.
 */
export function trackStreamingBody(
  body: StreamableFile | Readable | AsyncIterable<unknown>,
  observer: StreamObserver,
): StreamableFile | Readable {
  if (body instanceof StreamableFile) {
    return new StreamableFile(observe(body.getStream(), observer), body.options)
      .setErrorHandler(body.errorHandler)
      .setErrorLogger(body.errorLogger);
  }
  const source = body instanceof Readable ? body : Readable.from(body, { objectMode: true });
  return observe(source, observer);
}
