import { StreamableFile } from '@nestjs/common';
import { PassThrough, Readable, pipeline } from 'node:stream';

/** Called once when a tracked response ends: `true` if it was delivered whole. */
export type OnResponseEnd = (delivered: boolean) => void;

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

/**
 * A stream that passes `source` through unchanged and reports once it is
 * read to its end (`true`), or fails or is destroyed first (`false`), as
 * Nest does when the client goes away.
 */
function passThroughReporting(source: Readable, onEnd: OnResponseEnd): Readable {
  const objectMode = source.readableObjectMode;
  const tracked = new PassThrough({ objectMode, highWaterMark: source.readableHighWaterMark });
  const encoding = source.readableEncoding;
  if (encoding && !objectMode) {
    tracked.setEncoding(encoding);
  }
  pipeline(source, tracked, (err) => onEnd(!err));
  return tracked;
}

/**
 * Wraps a streaming body so that `onEnd` learns how it ended. A
 * `StreamableFile` stays one, with the same options and error handlers.
 */
export function trackStreamingBody(
  body: StreamableFile | Readable | AsyncIterable<unknown>,
  onEnd: OnResponseEnd,
): StreamableFile | Readable {
  if (body instanceof StreamableFile) {
    return new StreamableFile(passThroughReporting(body.getStream(), onEnd), body.options)
      .setErrorHandler(body.errorHandler)
      .setErrorLogger(body.errorLogger);
  }
  const source = body instanceof Readable ? body : Readable.from(body, { objectMode: true });
  return passThroughReporting(source, onEnd);
}
