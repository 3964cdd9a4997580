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

/** Tells `observer` how a stream ended, once: a later end (e.g. the destroy that follows a failure) changes nothing. */
class StreamEnding {
  private ended = false;

  constructor(readonly observer: StreamObserver) {}

  end(delivered: boolean): void {
    if (!this.ended) {
      this.ended = true;
      this.observer.endStream(delivered);
    }
  }
}

/**
 * A body Nest streams (an async iterable), that reads `source` and shows
 * `observer` each chunk as Nest asks for it, and how reading ended. No
 * stream sits in between: Nest reads the chunks from `source`'s own iterator.
 * Nest stops a body it does not send, or sends to a client that left, by
 * `destroy()` and `return()`; a `Readable` source destroyed by anyone else is
 * noticed by its `close`.
 */
class ObservedBody extends StreamEnding implements AsyncIterable<unknown> {
  constructor(
    private readonly source: Readable | AsyncIterable<unknown>,
    observer: StreamObserver,
  ) {
    super(observer);
    if (source instanceof Readable) {
      // Closed after its end: the iterator reports `done` next. Closed before: destroyed.
      source.once('close', () => {
        if (!source.readableEnded) {
          this.end(false);
        }
      });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    const iterator = this.source[Symbol.asyncIterator]();
    // `then` rather than an async function: one promise per chunk, not three.
    const onResult = (result: IteratorResult<unknown>) => {
      if (result.done) {
        this.end(true);
      } else {
        this.observer.observeChunk(result.value);
      }
      return result;
    };
    const onError = (err: unknown) => {
      this.end(false);
      throw err;
    };
    return {
      next: () => iterator.next().then(onResult, onError),
      return: (value?: unknown) => {
        this.end(false);
        return iterator.return ? iterator.return(value) : Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** What Nest calls to stop the body. */
  destroy(err?: Error): void {
    this.end(false);
    (this.source as Partial<Readable>).destroy?.(err);
  }
}

/** Where a stream observed in place keeps its observation. */
const OBSERVATION = Symbol('nestjs-llm-metrics.stream-observation');

type ObservedReadable = Readable & { [OBSERVATION]?: InPlaceObservation };

/** What a stream observed in place keeps: the observer, and its own `push` and `destroy`. */
class InPlaceObservation extends StreamEnding {
  constructor(
    observer: StreamObserver,
    readonly push: Readable['push'],
    readonly destroy: Readable['destroy'],
  ) {
    super(observer);
  }
}

// The `push`, `destroy` and listeners of every stream observed in place:
// functions shared by all of them, that find the observation through `this`,
// rather than closures made for each stream.

function observedPush(this: ObservedReadable, chunk: unknown, encoding?: BufferEncoding): boolean {
  const observation = this[OBSERVATION] as InPlaceObservation;
  if (chunk !== null && chunk !== undefined) {
    observation.observer.observeChunk(chunk);
  }
  return observation.push.call(this, chunk, encoding);
}

/** Destroyed before its end (as Nest does when the client goes away), with or without an error, whether or not it emits `close`. */
function observedDestroy(this: ObservedReadable, error?: Error): Readable {
  const observation = this[OBSERVATION] as InPlaceObservation;
  if (!this.readableEnded) {
    observation.end(false);
  }
  return observation.destroy.call(this, error);
}

function onObservedEnd(this: ObservedReadable): void {
  this[OBSERVATION]?.end(true);
}

function onObservedError(this: ObservedReadable): void {
  this[OBSERVATION]?.end(false);
}

/**
 * Shows `observer` each chunk of `source` as it enters the stream (its
 * `push`), and how the stream ended: read to its end, or failed or destroyed
 * first (as Nest does when the client goes away). The stream itself is left
 * in place, so Nest reads it as it would untracked: no stream or promise per
 * chunk is added. Two listeners and `destroy` tell its end, rather than
 * `finished()`, which adds five listeners and a closure per stream.
 */
function observeInPlace(source: ObservedReadable, observer: StreamObserver): Readable {
  source[OBSERVATION] = new InPlaceObservation(observer, source.push, source.destroy);
  source.push = observedPush;
  source.destroy = observedDestroy;
  source.once('end', onObservedEnd);
  source.on('error', onObservedError);
  return source;
}

/**
 * Wraps a streaming body so that `observer` sees its chunks and its end. A
 * `Readable` that holds nothing yet is observed in place; one that already
 * buffered chunks, or another async iterable, becomes an async iterable
 * that Nest reads directly. A `StreamableFile` stays one, with the same
 * options and error handlers, over a pass-through stream (the adapter pipes it).
 */
export function trackStreamingBody(
  body: StreamableFile | Readable | AsyncIterable<unknown>,
  observer: StreamObserver,
): StreamableFile | Readable | AsyncIterable<unknown> {
  if (body instanceof StreamableFile) {
    return new StreamableFile(observe(body.getStream(), observer), body.options)
      .setErrorHandler(body.errorHandler)
      .setErrorLogger(body.errorLogger);
  }
  if (
    body instanceof Readable &&
    body.readableLength === 0 &&
    !body.readableEnded &&
    !body.destroyed &&
    body.readableFlowing !== true &&
    // A stream observed in place already (returned for two requests) is read through its iterator.
    !(OBSERVATION in body)
  ) {
    return observeInPlace(body, observer);
  }
  return new ObservedBody(body, observer);
}
