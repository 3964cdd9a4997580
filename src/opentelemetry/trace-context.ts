/** A trace a request belongs to: the labels of the exemplars its latencies carry (a type, so that it is a label record). */
export type TraceLink = {
  /** 32 lowercase hex digits, not all zeros. */
  readonly trace_id: string;
  /** 16 lowercase hex digits, not all zeros. */
  readonly span_id: string;
};

/** `version-traceid-parentid-flags`, W3C Trace Context level 1; later versions may append fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;
const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);

/** Whether `value` holds ids a trace can have: lowercase hex of the right lengths, not all zeros. */
export function isTraceLink(value: unknown): value is TraceLink {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { trace_id: traceId, span_id: spanId } = value as Record<string, unknown>;
  return (
    typeof traceId === 'string' &&
    typeof spanId === 'string' &&
    /^[0-9a-f]{32}$/.test(traceId) &&
    /^[0-9a-f]{16}$/.test(spanId) &&
    traceId !== INVALID_TRACE_ID &&
    spanId !== INVALID_SPAN_ID
  );
}

/**
 * The trace of a W3C `traceparent` header value, or `undefined` for anything
 * else: another type, a header sent twice, the invalid version `ff`, a version
 * `00` with more fields, ids of the wrong length, not lowercase hex, or all zeros.
 */
export function traceLinkFromTraceparent(header: unknown): TraceLink | undefined {
  if (typeof header !== 'string' || header.length > 512) {
    return undefined;
  }
  const match = TRACEPARENT.exec(header.trim());
  if (!match) {
    return undefined;
  }
  // The pattern checked the digits; the ids may still be the invalid all-zero ones.
  const [, version, traceId, spanId, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined) || traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) {
    return undefined;
  }
  return { trace_id: traceId, span_id: spanId };
}
