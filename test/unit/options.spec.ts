import { LlmMetricsService, type LlmMetricsServiceOptions } from '../../src/index.js';
import { validateModuleOptions } from '../../src/nest/llm-metrics.options.js';

const from = () => 'a';

/** Each bad option, and what its error names. */
const BAD: [string, LlmMetricsServiceOptions, RegExp][] = [
  ['maxModels', { maxModels: Number.NaN }, /option "maxModels" must be a positive integer, got NaN/],
  ['maxModels', { maxModels: 0 }, /option "maxModels" must be a positive integer, got 0/],
  ['models', { models: 'all' as never }, /option "models"/],
  ['schema', { schema: 'dynamo-9' as never }, /option "schema" must be one of "dynamo-0.2.1", "dynamo-frontend", got "dynamo-9"/],
  ['errorType', { errorType: 'yes' as never }, /option "errorType" must be a boolean, got "yes"/],
  ['buckets', { buckets: { timeToFirstToken: [1, 0.5] } }, /option "buckets.timeToFirstToken"/],
  ['buckets key', { buckets: { ttft: [1] } as never }, /option "buckets" must be an object with the keys/],
  ['nativeHistograms', { nativeHistograms: { schema: 9 } }, /option "nativeHistograms"/],
  ['label name', { labels: { status: { from } } }, /option "labels" must be keyed by names other than/],
  ['label max', { labels: { tenant: { from, max: 0 } } }, /option "labels.tenant.max" must be a positive integer/],
  ['labelTtl', { labels: { tenant: { from } }, labelTtl: -1 }, /option "labelTtl"/],
  ['modelReady', { modelReady: [] as never }, /option "modelReady"/],
  ['a misspelt option', { errortype: true } as never, /unknown option "errortype": did you mean "errorType"\?/],
  [
    'a misspelt option of a request label',
    { labels: { tenant: { form: from } as never } },
    /unknown option "labels.tenant.form": did you mean "from"\?/,
  ],
  [
    'a misspelt option of native histograms',
    { nativeHistograms: { maxbucket: 10 } as never },
    /unknown option "nativeHistograms.maxbucket": did you mean "maxBuckets"\?/,
  ],
];

describe('the options of the service and of the module', () => {
  it.each(BAD)('fail the same way on both paths, naming the option: %s', (_, options, message) => {
    let fromService: unknown;
    let fromModule: unknown;
    try {
      new LlmMetricsService(undefined, options);
    } catch (err) {
      fromService = err;
    }
    try {
      validateModuleOptions(options);
    } catch (err) {
      fromModule = err;
    }
    expect(fromService).toBeInstanceOf(TypeError);
    expect((fromService as Error).message).toMatch(message);
    expect((fromModule as Error | undefined)?.message).toBe((fromService as Error).message);
  });

  it('fail on a bad prefix the same way on both paths', () => {
    expect(() => new LlmMetricsService('bad-prefix')).toThrow(/option "prefix" must be a metric name prefix matching .*, got "bad-prefix"/);
    expect(() => validateModuleOptions({ prefix: 'bad-prefix' })).toThrow(
      /option "prefix" must be a metric name prefix matching .*, got "bad-prefix"/,
    );
  });
});
