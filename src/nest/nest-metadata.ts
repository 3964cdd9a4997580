/**
 * What this library reads of Nest's route metadata, in one place. The keys
 * and parameter types are Nest's (stable since Nest 8), written out here so
 * as not to depend on Nest's internal exports.
 */

export const PATH_METADATA = 'path';
export const ROUTE_ARGS_METADATA = '__routeArguments__';
export const RESPONSE_PASSTHROUGH_METADATA = '__responsePassthrough__';
export const SSE_METADATA = '__sse__';
export const GUARDS_METADATA = '__guards__';
export const PIPES_METADATA = '__pipes__';
export const INTERCEPTORS_METADATA = '__interceptors__';
export const HEADERS_METADATA = '__headers__';

/** Nest's `RouteParamtypes` this library tells apart. */
export const RouteParam = { Request: 0, Response: 1, Next: 2 } as const;

/** The `RouteParamtypes` no pipe runs on (request, response, next, headers, session, host, ip, ack). */
export const UNREFUSABLE_PARAMS: ReadonlySet<number> = new Set([0, 1, 2, 6, 7, 10, 11, 13]);

/** The `ROUTE_ARGS_METADATA` key of a parameter: `"<type>:<index>"`. */
export function routeParamKey(type: number, index: number): string {
  return `${type}:${index}`;
}

/** The `RouteParamtypes` of a `ROUTE_ARGS_METADATA` key; a custom decorator's type is not a number. */
export function paramTypeOf(key: string): number {
  return Number(key.split(':')[0]);
}
