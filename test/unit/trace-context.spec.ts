import { isTraceLink, traceLinkFromTraceparent } from '../../src/opentelemetry/trace-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('traceLinkFromTraceparent', () => {
  it.each([
    [`00-${TRACE_ID}-${SPAN_ID}-01`, 'a sampled version-00 header'],
    [`00-${TRACE_ID}-${SPAN_ID}-00`, 'an unsampled one: the ids still name the trace'],
    [` 00-${TRACE_ID}-${SPAN_ID}-01 `, 'one with surrounding spaces'],
    [`cc-${TRACE_ID}-${SPAN_ID}-01-future-fields`, 'a later version with fields appended'],
  ])('reads %j (%s)', (header) => {
    expect(traceLinkFromTraceparent(header)).toEqual({ trace_id: TRACE_ID, span_id: SPAN_ID });
  });

  it.each<[unknown, string]>([
    [undefined, 'no header'],
    [[`00-${TRACE_ID}-${SPAN_ID}-01`], 'an array'],
    [42, 'a number'],
    ['', 'an empty string'],
    [`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, 'uppercase hex'],
    [`00-${TRACE_ID.slice(0, 30)}zz-${SPAN_ID}-01`, 'not hex'],
    [`00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`, 'a trace id too short'],
    [`00-${TRACE_ID}0-${SPAN_ID}-01`, 'a trace id too long'],
    [`00-${TRACE_ID}-${SPAN_ID}0-01`, 'a span id too long'],
    [`00-${'0'.repeat(32)}-${SPAN_ID}-01`, 'an all-zero trace id'],
    [`00-${TRACE_ID}-${'0'.repeat(16)}-01`, 'an all-zero span id'],
    [`ff-${TRACE_ID}-${SPAN_ID}-01`, 'the invalid version ff'],
    [`00-${TRACE_ID}-${SPAN_ID}-01-extra`, 'version 00 with more fields'],
    [`00-${TRACE_ID}-${SPAN_ID}-01, 00-${TRACE_ID}-${SPAN_ID}-01`, 'the header sent twice, joined'],
    [`00-${TRACE_ID}-${SPAN_ID}-01\nevil`, 'a line feed'],
    [`00-${TRACE_ID.slice(0, 28)}"}x-${SPAN_ID}-01`, 'quotes and braces'],
    [`cc-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(600)}`, 'more than 512 characters'],
  ])('gives nothing for %j (%s)', (header) => {
    expect(traceLinkFromTraceparent(header)).toBeUndefined();
  });
});

describe('isTraceLink', () => {
  it('takes lowercase hex ids of 32 and 16 digits, not all zeros', () => {
    expect(isTraceLink({ trace_id: TRACE_ID, span_id: SPAN_ID })).toBe(true);
    expect(isTraceLink({ trace_id: TRACE_ID.toUpperCase(), span_id: SPAN_ID })).toBe(false);
    expect(isTraceLink({ trace_id: '0'.repeat(32), span_id: SPAN_ID })).toBe(false);
    expect(isTraceLink({ trace_id: TRACE_ID, span_id: undefined })).toBe(false);
  });
});
