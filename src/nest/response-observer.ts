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

/**
 * Shows `observer` what the client of `response` receives, whatever wrote
 * it (Nest's adapters for a value, a stream or an `@Sse()` Observable, or a
 * handler through `@Res()`): the head, each chunk of the body, and whether
 * the response finished or its connection closed first. The response's
 * `writeHead`, `write` and `end` are wrapped on this response only, as
 * compression and logging middleware do.
 */
export function observeResponse(response: ServerResponse, observer: ResponseObserver): void {
  const { writeHead, write, end } = response;
  let headSeen = false;
  const seeHead = (headers: unknown) => {
    if (!headSeen) {
      headSeen = true;
      const header = response.getHeader('content-type');
      observer.observeHead(contentTypeOf(headers) ?? (header === undefined ? undefined : String(header)));
    }
  };
  // `end(chunk)` may write its chunk through `write()`: it is seen once.
  let ending = false;
  response.writeHead = function (this: ServerResponse) {
    seeHead(arguments[arguments.length - 1]);
    return Reflect.apply(writeHead, this, arguments);
  } as typeof writeHead;
  response.write = function (this: ServerResponse, chunk: unknown) {
    if (!ending) {
      seeHead(undefined);
      if (isChunk(chunk)) {
        observer.observeChunk(chunk);
      }
    }
    return Reflect.apply(write, this, arguments);
  } as typeof write;
  response.end = function (this: ServerResponse, chunk?: unknown) {
    seeHead(undefined);
    if (isChunk(chunk)) {
      observer.observeChunk(chunk);
    }
    ending = true;
    try {
      return Reflect.apply(end, this, arguments);
    } finally {
      ending = false;
    }
  } as typeof end;
  const socket = response.req?.socket;
  const abort = () => observer.observeAbort(socket?.readableEnded === true || socket?.errored != null);
  if (response.destroyed) {
    abort();
    return;
  }
  // Each is emitted once; 'close' also follows 'finish', when the outcome is known already.
  response.on('finish', () => observer.observeFinish(response.statusCode));
  response.on('close', abort);
}
