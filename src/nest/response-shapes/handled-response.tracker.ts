import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream';

/** What a response written by the handler reports: each chunk written, and how it ended. */
export interface ResponseObserver {
  /** A chunk is being written to the response. */
  observeChunk(chunk: unknown): void;
  /** The response finished (`true`, with its status code) or closed before it could (`false`). */
  endResponse(finished: boolean, statusCode: number): void;
}

/**
 * For a handler that writes the response itself (`@Res()`): shows `observer`
 * every chunk written and, once, whether the response finished or its
 * connection closed first.
 */
export function observeHandledResponse(response: ServerResponse, observer: ResponseObserver): void {
  const write = response.write;
  const end = response.end;
  response.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    observer.observeChunk(chunk);
    return write.apply(this, [chunk, ...rest] as Parameters<typeof write>);
  } as typeof write;
  response.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      observer.observeChunk(chunk);
    }
    return end.apply(this, [chunk, ...rest] as Parameters<typeof end>);
  } as typeof end;
  finished(response, (err) => observer.endResponse(!err, response.statusCode));
}
