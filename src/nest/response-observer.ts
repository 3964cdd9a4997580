import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** What a response shows of itself while it is sent: every shape of answer goes through it. */
export interface ResponseObserver {
  /** The status line and headers are being written, with this content type (if it has one). */
  observeHead(contentType: string | undefined): void;
  /** A chunk of the body is being written. */
  observeChunk(chunk: string | Uint8Array): void;
  /** The whole response was handed to the operating system. */
  observeFinish(statusCode: number): void;
  /** The connection closed before the response finished: `clientLeft` if the client ended or reset it, not the server. */
  observeAbort(clientLeft: boolean): void;
}

/** The content type among the headers `writeHead()` was given: an object, or a flat or nested array of names and values. */
function contentTypeOf(headers: unknown): string | undefined {
  if (Array.isArray(headers)) {
    const flat: unknown[] = headers.flat();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (String(flat[i]).toLowerCase() === 'content-type') {
        return String(flat[i + 1]);
      }
    }
    return undefined;
  }
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (name.toLowerCase() === 'content-type') {
        return String(value);
      }
    }
  }
  return undefined;
}

function isChunk(chunk: unknown): chunk is string | Uint8Array {
  return typeof chunk === 'string' || chunk instanceof Uint8Array;
}

/** Where a watched response keeps its watch. */
const WATCH = Symbol('nestjs-llm-metrics.response-watch');

type WatchedResponse = ServerResponse & { [WATCH]: ResponseWatch };

/** The watch of one response: its observer, and its own `writeHead`, `write` and `end`. */
class ResponseWatch {
  private headSeen = false;
  /** Set while `end()` runs: an `end(chunk)` may write its chunk through `write()`. */
  ending = false;

  constructor(
    private readonly response: ServerResponse,
    readonly observer: ResponseObserver,
    readonly writeHead: ServerResponse['writeHead'],
    readonly write: ServerResponse['write'],
    readonly end: ServerResponse['end'],
  ) {}

  seeHead(headers: unknown): void {
    if (!this.headSeen) {
      this.headSeen = true;
      const header = this.response.getHeader('content-type');
      this.observer.observeHead(contentTypeOf(headers) ?? (header === undefined ? undefined : String(header)));
    }
  }

  seeChunk(chunk: unknown): void {
    this.seeHead(undefined);
    if (isChunk(chunk)) {
      this.observer.observeChunk(chunk);
    }
  }
}

// The wrappers of every watched response: shared functions that find the watch through the response.

function watchedWriteHead(this: WatchedResponse, ...args: unknown[]) {
  const watch = this[WATCH];
  watch.seeHead(args[args.length - 1]);
  return Reflect.apply(watch.writeHead, this, args);
}

function watchedWrite(this: WatchedResponse, ...args: unknown[]) {
  const watch = this[WATCH];
  if (!watch.ending) {
    watch.seeChunk(args[0]);
  }
  return Reflect.apply(watch.write, this, args);
}

function watchedEnd(this: WatchedResponse, ...args: unknown[]) {
  const watch = this[WATCH];
  watch.seeChunk(args[0]);
  watch.ending = true;
  try {
    return Reflect.apply(watch.end, this, args);
  } finally {
    watch.ending = false;
  }
}

function onFinish(this: WatchedResponse): void {
  this[WATCH].observer.observeFinish(this.statusCode);
}

function onClose(this: WatchedResponse): void {
  const socket = this.req?.socket;
  this[WATCH].observer.observeAbort(socket?.readableEnded === true || socket?.errored != null);
}

/**
 * Shows `observer` what the client of `response` receives, whatever wrote
 * it (Nest's adapters for a value, a stream or an `@Sse()` Observable, or a
 * handler through `@Res()`): the head, each chunk of the body, and whether
 * the response finished or its connection closed first. The response's
 * `writeHead`, `write` and `end` are wrapped on this response only, as
 * compression and logging middleware do.
 */
export function observeResponse(response: ServerResponse, observer: ResponseObserver): void {
  (response as WatchedResponse)[WATCH] = new ResponseWatch(response, observer, response.writeHead, response.write, response.end);
  response.writeHead = watchedWriteHead as unknown as ServerResponse['writeHead'];
  response.write = watchedWrite as unknown as ServerResponse['write'];
  response.end = watchedEnd as unknown as ServerResponse['end'];
  if (response.destroyed) {
    onClose.call(response as WatchedResponse);
    return;
  }
  // Each is emitted once; 'close' also follows 'finish', when the outcome is known already.
  response.on('finish', onFinish);
  response.on('close', onClose);
}
