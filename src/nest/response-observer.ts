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
    const record = headers as OutgoingHttpHeaders;
    // Fastify, and most writers, name it in lower case: found without a scan.
    const lowerCase = record['content-type'];
    if (lowerCase !== undefined) {
      return String(lowerCase);
    }
    for (const name in record) {
      if (name.toLowerCase() === 'content-type') {
        return String(record[name]);
      }
    }
  }
  return undefined;
}

function isChunk(chunk: unknown): chunk is string | Uint8Array {
  return typeof chunk === 'string' || chunk instanceof Uint8Array;
}

/** The watch of one response: what it showed so far, and its observer. */
class ResponseWatch {
  private headSeen = false;
  /** Set while `end()` runs: an `end(chunk)` may write its chunk through `write()`. */
  ending = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly observer: ResponseObserver,
  ) {}

  seeHead(headers: unknown): void {
    if (!this.headSeen) {
      this.headSeen = true;
      const contentType = contentTypeOf(headers);
      if (contentType !== undefined) {
        this.observer.observeHead(contentType);
      } else {
        const header = this.response.getHeader('content-type');
        this.observer.observeHead(header === undefined ? undefined : String(header));
      }
    }
  }

  seeChunk(chunk: unknown): void {
    this.seeHead(undefined);
    if (isChunk(chunk)) {
      this.observer.observeChunk(chunk);
    }
  }

  seeFinish(): void {
    this.observer.observeFinish(this.response.statusCode);
  }

  /** The connection closed; once the response finished, the outcome is known already. */
  seeClose(): void {
    const socket = this.response.req?.socket;
    this.observer.observeAbort(socket?.readableEnded === true || socket?.errored != null);
  }
}

/**
 * Shows `observer` what the client of `response` receives, whatever wrote
 * it (Nest's adapters for a value, a stream or an `@Sse()` Observable, or a
 * handler through `@Res()`): the head, each chunk of the body, and whether
 * the response finished or its connection closed first. The response's
 * `writeHead`, `write` and `end` are wrapped on this response only, as
 * compression and logging middleware do; the wrappers hold the watch, so
 * that nothing else is stored on the response (a store on Express's response,
 * in dictionary mode with its prototype swapped, takes microseconds).
 */
export function observeResponse(response: ServerResponse, observer: ResponseObserver): void {
  const watch = new ResponseWatch(response, observer);
  const { writeHead, write, end } = response;
  response.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    watch.seeHead(args[args.length - 1]);
    return Reflect.apply(writeHead, this, args);
  } as ServerResponse['writeHead'];
  // Called for every chunk of a stream: the arguments named, not gathered into an array (`write` and `end` take them `undefined` as if left out).
  response.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (!watch.ending) {
      watch.seeChunk(chunk);
    }
    return write.call(this, chunk, encoding as BufferEncoding, callback as () => void);
  } as ServerResponse['write'];
  response.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
    watch.seeChunk(chunk);
    watch.ending = true;
    try {
      return end.call(this, chunk, encoding as BufferEncoding, callback as () => void);
    } finally {
      watch.ending = false;
    }
  } as ServerResponse['end'];
  if (response.destroyed) {
    watch.seeClose();
    return;
  }
  // Each is emitted once; 'close' also follows 'finish', when the outcome is known already.
  response.on('finish', () => watch.seeFinish());
  response.on('close', () => watch.seeClose());
}
