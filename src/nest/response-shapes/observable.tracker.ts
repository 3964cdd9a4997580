import { Observable } from 'rxjs';
import type { RequestTracking } from '../request-tracking.js';
import { isStreamingBody, trackStreamingBody } from './streaming-body.tracker.js';

/**
 * Mirrors `source` (the handler's Observable, or Nest's `next.handle()`) and
 * reports to `tracking` what it emits and how it ends: completed, failed, or
 * unsubscribed first (the client went away). A streaming body it emits is
 * tracked to its own end instead; an `@Sse()` route's values are its events.
 */
export function trackObservable(source: Observable<unknown>, tracking: RequestTracking): Observable<unknown> {
  const { isSse, writesResponse } = tracking.plan;
  return new Observable((subscriber) => {
    // Once the response or a streamed body owns the outcome, the Observable
    // completing no longer ends the request.
    let outcomeHandedOver = writesResponse;
    const subscription = source.subscribe({
      next: (value: unknown) => {
        if (isSse) {
          tracking.observeEvent(value);
        } else if (!outcomeHandedOver && isStreamingBody(value)) {
          outcomeHandedOver = true;
          value = trackStreamingBody(value, tracking);
        } else {
          tracking.observeValue(value);
        }
        subscriber.next(value);
      },
      error: (err: unknown) => {
        tracking.fail(err);
        subscriber.error(err);
      },
      complete: () => {
        if (!outcomeHandedOver) {
          // Nest does not abandon a handler that returned a Promise when its
          // client leaves: an answer that can no longer be delivered is cancelled.
          tracking.complete();
        }
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      // Unsubscribed before completing: the client went away.
      if (!outcomeHandedOver) {
        tracking.cancel();
      }
    };
  });
}
