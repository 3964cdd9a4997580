import { Registry } from 'prom-client';
import { DYNAMO_FRONTEND_BUCKETS, LlmMetricsService, logBuckets } from '../../src/index.js';
import { logBucketsFromEnv, resolveBuckets } from '../../src/schemas/buckets.js';

/** The `le` values of the reference (`dynamo-frontend-metrics.md`, "Buckets (as exposed)"). */
const REFERENCE: [string, [number, number, number], string][] = [
  ['request_duration_seconds', [1, 512, 10], '0, 2, 4, 8, 16, 32, 64, 130, 260, 510'],
  [
    'time_to_first_token_seconds',
    [0.001, 480, 18],
    '0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1, 2.2, 4.7, 10, 22, 48, 100, 220, 480',
  ],
  ['inter_token_latency_seconds', [0.001, 2, 13], '0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2'],
  ['input_sequence_tokens, cached_tokens', [50, 128000, 12], '0, 100, 210, 430, 870, 1800, 3600, 7400, 15000, 31000, 63000, 130000'],
  ['output_sequence_tokens', [50, 32000, 10], '0, 100, 210, 430, 880, 1800, 3700, 7600, 16000, 32000'],
  ['embedding_latency_seconds', [0.001, 10, 14], '0, 0.002, 0.0041, 0.0084, 0.017, 0.035, 0.07, 0.14, 0.29, 0.59, 1.2, 2.4, 4.9, 10'],
];

describe('logBuckets', () => {
  it.each(REFERENCE)("reproduces Dynamo's bounds of %s from (min, max, count) = %j", (_, [min, max, count], bounds) => {
    expect(logBuckets(min, max, count).join(', ')).toBe(bounds);
  });

  it("gives each dynamo-frontend histogram the reference's defaults", () => {
    expect(
      Object.fromEntries(Object.entries(DYNAMO_FRONTEND_BUCKETS).map(([key, { min, max, count }]) => [key, [min, max, count]])),
    ).toEqual({
      requestDuration: [1, 512, 10],
      timeToFirstToken: [0.001, 480, 18],
      // Not Dynamo's: this library's time to first content token, with the buckets of time to first token.
      timeToFirstContentToken: [0.001, 480, 18],
      interTokenLatency: [0.001, 2, 13],
      inputSequenceTokens: [50, 128000, 12],
      outputSequenceTokens: [50, 32000, 10],
      cachedTokens: [50, 128000, 12],
      embeddingLatency: [0.001, 10, 14],
      // Not Dynamo's: the gateway's upstream calls, with the buckets of the request's measures they match, and its overhead.
      upstreamDuration: [1, 512, 10],
      upstreamTimeToHeaders: [0.001, 480, 18],
      upstreamTimeToFirstChunk: [0.001, 480, 18],
      upstreamTimePerOutputChunk: [0.001, 2, 13],
      gatewayOverhead: [0.0001, 10, 16],
    });
  });

  it('drops consecutive duplicates that rounding makes', () => {
    expect(logBuckets(1, 1.2, 10)).toEqual([0, 1, 1.1, 1.2]);
  });

  it.each([
    [0, 10, 5],
    [10, 1, 5],
    [1, 10, 1],
    [1, 10, 2.5],
    [Number.NaN, 10, 5],
    [1, Number.POSITIVE_INFINITY, 5],
  ])('refuses (%p, %p, %p), naming the values', (min, max, count) => {
    expect(() => logBuckets(min, max, count)).toThrow(/log buckets need 0 < min < max and an integer count ≥ 2/);
  });
});

describe('buckets as options', () => {
  it('takes a list of bounds, or { min, max, count }', () => {
    expect(resolveBuckets('buckets.x', [0, 1, 5])).toEqual([0, 1, 5]);
    expect(resolveBuckets('buckets.x', { min: 1, max: 512, count: 10 })).toEqual([0, 2, 4, 8, 16, 32, 64, 130, 260, 510]);
    expect(() => resolveBuckets('buckets.x', [1, 1])).toThrow(/option "buckets.x"/);
    expect(() => resolveBuckets('buckets.x', { min: 5, max: 1, count: 3 })).toThrow(/option "buckets.x"/);
  });

  it('reads DYN_METRICS_<NAME>_{MIN,MAX,COUNT}, each missing one from the defaults', () => {
    const defaults = { min: 1, max: 512, count: 10 };
    expect(logBucketsFromEnv({}, 'REQUEST_DURATION', defaults)).toEqual({});
    expect(logBucketsFromEnv({ DYN_METRICS_REQUEST_DURATION_MAX: '64' }, 'REQUEST_DURATION', defaults)).toEqual({
      buckets: { min: 1, max: 64, count: 10 },
    });
    expect(logBucketsFromEnv({ DYN_METRICS_TTFT_MIN: 'soon', DYN_METRICS_TTFT_COUNT: '3' }, 'TTFT', defaults)).toEqual({
      buckets: defaults,
      invalid:
        'DYN_METRICS_TTFT_MIN="soon", DYN_METRICS_TTFT_MAX=null, DYN_METRICS_TTFT_COUNT="3" (need 0 < MIN < MAX and an integer COUNT ≥ 2)',
    });
  });

  async function bounds(service: LlmMetricsService, name: string): Promise<string> {
    const registry = new Registry();
    service.register(registry);
    const guard = service.createInflightGuard('m', 'completions', true);
    guard.recordOutput(1);
    guard.recordOutput(1);
    guard.finish();
    const { values } = await registry.getSingleMetric(name)!.get();
    return values
      .filter((value) => (value as { metricName?: string }).metricName?.endsWith('_bucket'))
      .map((value) => value.labels.le)
      .join(', ');
  }

  it('makes the histograms of bucketsFromEnv, and warns once with the defaults for invalid variables', async () => {
    const warnings: string[] = [];
    const service = new LlmMetricsService(undefined, {
      schema: 'dynamo-frontend',
      bucketsFromEnv: true,
      env: {
        DYN_METRICS_REQUEST_DURATION_MIN: '1',
        DYN_METRICS_REQUEST_DURATION_MAX: '8',
        DYN_METRICS_REQUEST_DURATION_COUNT: '4',
        DYN_METRICS_ITL_COUNT: '-1',
        DYN_METRICS_TTFT_MAX: 'x',
      },
      onWarning: (message) => warnings.push(message),
    });
    expect(await bounds(service, 'dynamo_frontend_request_duration_seconds')).toBe('0, 2, 4, 8, +Inf');
    expect(await bounds(service, 'dynamo_frontend_inter_token_latency_seconds')).toBe(`${logBuckets(0.001, 2, 13).join(', ')}, +Inf`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /invalid bucket variables, the default buckets are used instead: .*DYN_METRICS_TTFT_MAX="x".*DYN_METRICS_ITL_COUNT="-1"/,
    );
  });

  it('lets the buckets option win over the environment', async () => {
    const service = new LlmMetricsService(undefined, {
      schema: 'dynamo-frontend',
      bucketsFromEnv: true,
      env: { DYN_METRICS_REQUEST_DURATION_MAX: '8' },
      buckets: { requestDuration: [0, 5] },
    });
    expect(await bounds(service, 'dynamo_frontend_request_duration_seconds')).toBe('0, 5, +Inf');
  });
});
