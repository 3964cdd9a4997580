import { isObservable } from 'rxjs';
import { REQUEST_TRACKING, type RequestTracking } from './request-tracking.js';
import type { TrackedRequest } from './request-tracking.opener.js';
import { trackObservable } from './response-shapes/observable.tracker.js';
import { isStreamingBody, trackStreamingBody } from './response-shapes/streaming-body.tracker.js';
import { ROUTE_ARGS_METADATA, RouteParam, routeParamKey } from './nest-metadata.js';

/**
 * Metadata of a handler `@TrackLlm()` wrapped: the index of the hidden
 * parameter through which Nest hands it the request. Metadata, so that a
 * decorator that wraps the handler again (and carries its metadata over, as
 * Nest-aware decorators do) still marks a bound route.
 */
const REQUEST_PARAM_INDEX_METADATA = 'llm_metrics:request_param_index';
/** On the wrapper itself (not carried over by another wrapper): set to `true`. */
const TRACKING_WRAPPER = Symbol('nestjs-llm-metrics.tracking-wrapper');

type Handler = ((...args: unknown[]) => unknown) & { [TRACKING_WRAPPER]?: true };

/** The index of the hidden `@Req()` parameter of a route handler `@TrackLlm()` bound its tracking to, or `undefined`. */
export function hiddenRequestParamIndex(handler: Function): number | undefined {
  return Reflect.getOwnMetadata(REQUEST_PARAM_INDEX_METADATA, handler) as number | undefined;
}

/** Whether `handler` is a route handler `@TrackLlm()` bound its tracking to (possibly wrapped again since). */
export function isTrackingBound(handler: Function): boolean {
  return hiddenRequestParamIndex(handler) !== undefined;
}

/** Whether `handler` is `@TrackLlm()`'s wrapper itself, not another function around it that may not call it. */
export function isTrackingWrapper(handler: Function): boolean {
  return (handler as Handler)[TRACKING_WRAPPER] === true;
}

/** Whether the `ROUTE_ARGS_METADATA` key `key` of `handler` is the hidden `@Req()` parameter `@TrackLlm()` added. */
export function isHiddenRequestParam(handler: Function, key: string): boolean {
  const index = hiddenRequestParamIndex(handler);
  return index !== undefined && key === routeParamKey(RouteParam.Request, index);
}

/**
 * Binds the tracking of a request to the route handler `prototype[methodName]`
 * itself, without Nest's interceptor pipeline: the handler is wrapped, and
 * takes one hidden `@Req()` parameter after its own, through which the
 * wrapper finds the tracking the guard opened. The wrapper tells the tracking
 * that the handler ran and tracks what it returns (a value, a Promise, an
 * Observable, a stream) to its end. Called directly (not through Nest's
 * router), or for a request nothing opened a tracking for, it only calls the
 * handler. Metadata set on the handler so far is carried over; binding twice
 * does nothing.
 */
export function bindTrackingToHandler(prototype: object, methodName: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor {
  const original = descriptor.value as Handler;
  if (typeof original !== 'function' || isTrackingBound(original)) {
    return descriptor;
  }
  const controller = prototype.constructor;
  const routeArgs: Record<string, { index: number }> = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodName) ?? {};
  const index = Object.values(routeArgs).reduce((max, { index }) => Math.max(max, index + 1), original.length);

  const wrapper: Handler = function (this: unknown, ...args: unknown[]) {
    const request = args[index] as TrackedRequest | undefined;
    if (args.length === index + 1) {
      args.pop();
    } else if (args.length > index) {
      args.length = index;
    }
    const tracking = request?.[REQUEST_TRACKING];
    if (tracking === undefined || tracking.handlerCalled) {
      return original.apply(this, args);
    }
    tracking.handlerCalled = true;
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (err) {
      tracking.fail(err);
      throw err;
    }
    return trackHandlerResult(result, tracking);
  };

  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name });
  wrapper[TRACKING_WRAPPER] = true;
  Reflect.defineMetadata(REQUEST_PARAM_INDEX_METADATA, index, wrapper);
  Reflect.defineMetadata(
    ROUTE_ARGS_METADATA,
    { ...routeArgs, [routeParamKey(RouteParam.Request, index)]: { index, data: undefined, pipes: [] } },
    controller,
    methodName,
  );
  return { ...descriptor, value: wrapper };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Tracks what a handler returned to its end, and returns what Nest is to send in its place. */
function trackHandlerResult(result: unknown, tracking: RequestTracking): unknown {
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => trackSettledResult(value, tracking),
      (err: unknown) => {
        tracking.fail(err);
        throw err;
      },
    );
  }
  return trackSettledResult(result, tracking);
}

function trackSettledResult(value: unknown, tracking: RequestTracking): unknown {
  if (isObservable(value)) {
    return trackObservable(value, tracking);
  }
  if (tracking.plan.writesResponse) {
    // The response the handler writes tells how the request ended.
    return value;
  }
  if (isStreamingBody(value)) {
    return trackStreamingBody(value, tracking);
  }
  tracking.observeValue(value);
  tracking.complete();
  return value;
}
