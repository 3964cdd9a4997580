import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import type { OnResponseEnd } from './streaming-body.tracker.js';

/**
 * For a handler that writes the response itself (`@Res()`): reports once the
 * response finishes (`true` when its status is below 400) or its connection
 * closes before it could finish (`false`).
 */
export function finalizeOnResponseClose(response: ServerResponse, onEnd: OnResponseEnd): void {
  finished(response, (err) => onEnd(!err && response.statusCode < 400));
}
