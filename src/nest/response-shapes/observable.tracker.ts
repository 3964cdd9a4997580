import { Observable, type Observer, type Subscriber, type Unsubscribable } from 'rxjs';
import type { RequestTracking } from '../request-tracking.js';
import { isStreamingBody, trackStreamingBody } from './streaming-body.tracker.js';

/**
 * Passes what the source emits on to `subscriber`, reporting it to the
 * tracking; also the teardown of the subscription. One object per
 * subscription rather than a closure per callback.
 */
class TrackingObserver implements Observer<unknown>, Unsubscribable {
  /** Once the response or a streamed body owns the outcome, the Observable completing no longer ends the request. */
  private outcomeHandedOver: boolean;
  /** Whether the source completed or failed. */
  ended = false;
  source: Unsubscribable | undefined;

  constructor(
    private readonly subscriber: Subscriber<unknown>,
    private readonly tracking: RequestTracking,
  ) {
    this.outcomeHandedOver = tracking.plan.writesResponse;
  }

  next(value: unknown): void {
    const tracking = this.tracking;
    if (tracking.plan.isSse) {
      tracking.observeEvent(value);
    } else if (!this.outcomeHandedOver && isStreamingBody(value)) {
      this.outcomeHandedOver = true;
      value = trackStreamingBody(value, tracking);
    } else {
      tracking.observeValue(value);
    }
    this.subscriber.next(value);
  }

  error(err: unknown): void {
    this.ended = true;
    this.tracking.fail(err);
    this.subscriber.error(err);
  }

  complete(): void {
    this.ended = true;
    if (!this.outcomeHandedOver) {
      // Nest does not abandon a handler that returned a Promise when its
      // client leaves: an answer that can no longer be delivered is cancelled.
      this.tracking.complete();
    }
    this.subscriber.complete();
  }

  unsubscribe(): void {
    this.source?.unsubscribe();
    // Unsubscribed before completing: the client went away.
    if (!this.outcomeHandedOver) {
      this.tracking.cancel();
    }
  }
}

/**
 * Mirrors `source` (the handler's Observable, or Nest's `next.handle()`) and
 * reports to `tracking` what it emits and how it ends: completed, failed, or
 * unsubscribed first (the client went away). A streaming body it emits is
 * tracked to its own end instead; an `@Sse()` route's values are its events.
 */
export function trackObservable(source: Observable<unknown>, tracking: RequestTracking): Observable<unknown> {
  return new Observable((subscriber) => {
    const observer = new TrackingObserver(subscriber, tracking);
    observer.source = source.subscribe(observer);
    // A source that ended while it was subscribed to (e.g. `of(value)`) needs no teardown.
    return observer.ended ? undefined : observer;
  });
}
