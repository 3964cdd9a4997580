import { Registry } from 'prom-client';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Endpoint, LlmMetricsService, type LlmMetricsServiceOptions, type SchemaName } from '../../src/index.js';
import { parseExposition, samplesOf, sumOf, valueOf } from '../support/exposition.js';
import { histogramPoints, testMeterProvider } from '../support/opentelemetry.js';
import { promtoolCheck } from '../support/promtool.js';

interface Source {
  tenant?: unknown;
  team?: unknown;
}

/** A service with a `tenant` label read from `source.tenant`, on a clock the test moves. */
function serviceWith(options: LlmMetricsServiceOptions = {}, prefix?: string) {
  const clock = { now: 0 };
  const registry = new Registry();
  const service = new LlmMetricsService(prefix, {
    clock: () => clock.now,
    labels: { tenant: { from: (source) => (source as Source).tenant } },
    ...options,
  });
  service.register(registry);
  /** One unary request of `tenant` with a usage, finished ok. */
  const request = (source: Source, model = 'm') => {
    const guard = service.createInflightGuard(model, Endpoint.ChatCompletions, false, source);
    guard.recordUsage({ prompt_tokens: 10, completion_tokens: 5 });
    guard.markOk();
    guard.finish();
    return guard;
  };
  return { clock, registry, service, request, scrape: () => registry.metrics() };
}

/** The distinct values of `label` among the samples of `name`. */
function valuesOf(text: string, name: string, label: string): Set<string | undefined> {
  return new Set(samplesOf(text, name).map((sample) => sample.labels[label]));
}

const P = 'nv_llm_http_service_';

describe('request labels', () => {
  it('puts the label on requests_total and the token histograms, not on the latency histograms or the gauge', async () => {
    const { request, scrape } = serviceWith();
    request({ tenant: 'acme' });
    const text = await scrape();
    expect(
      valueOf(text, `${P}requests_total`, {
        model: 'm',
        endpoint: 'chat_completions',
        request_type: 'unary',
        status: 'success',
        tenant: 'acme',
      }),
    ).toBe(1);
    expect(valueOf(text, `${P}input_sequence_tokens_sum`, { model: 'm', tenant: 'acme' })).toBe(10);
    expect(valueOf(text, `${P}output_sequence_tokens_count`, { model: 'm', tenant: 'acme' })).toBe(1);
    expect(valueOf(text, `${P}request_duration_seconds_count`, { model: 'm' })).toBe(1);
    expect(valueOf(text, `${P}inflight_requests`, { model: 'm' })).toBe(0);
    expect(promtoolCheck(text).output).toBe('');
  });

  it.each<SchemaName>(['dynamo-0.2.1', 'dynamo-frontend'])('carries it only on the families named in %s', async (schema) => {
    const prefix = schema === 'dynamo-frontend' ? 'dynamo_frontend_' : P;
    const { request, scrape, service } = serviceWith({
      schema,
      labels: { tenant: { from: (source) => (source as Source).tenant, metrics: ['request_duration_seconds', 'inflight_requests'] } },
    });
    request({ tenant: 'acme' });
    const open = service.createInflightGuard('m', Endpoint.ChatCompletions, false, { tenant: 'beta' });
    const text = await scrape();
    for (const sample of parseExposition(text)) {
      const named = sample.name.startsWith(`${prefix}request_duration_seconds`) || sample.name === `${prefix}inflight_requests`;
      expect([sample.name, 'tenant' in sample.labels]).toEqual([sample.name, named]);
    }
    expect(valueOf(text, `${prefix}inflight_requests`, { model: 'm', tenant: 'beta' })).toBe(1);
    expect(valueOf(text, `${prefix}inflight_requests`, { model: 'm', tenant: 'acme' })).toBe(0);
    open.finish();
  });

  it('records missing values as `missing`, refused and malformed ones as `other`, and counts the latter', async () => {
    const { request, scrape } = serviceWith({
      labels: { tenant: { from: (source) => (source as Source).tenant, allow: (value) => value !== 'banned', missing: 'anonymous' } },
    });
    const throwing = Object.defineProperty({}, 'tenant', {
      get() {
        throw new Error('no user');
      },
    });
    for (const tenant of [undefined, null, '', throwing]) {
      request(tenant === throwing ? (throwing as Source) : { tenant });
    }
    for (const tenant of [42, { id: 'a' }, ['a'], 'x'.repeat(257), 'bad\nline', 'nul\u0000', '\ud800', 'banned']) {
      request({ tenant });
    }
    request({ tenant: 'ok' });
    const text = await scrape();
    const requests = (tenant: string) => sumOf(text, `${P}requests_total`, { tenant });
    expect([requests('anonymous'), requests('other'), requests('ok')]).toEqual([4, 8, 1]);
    expect(valuesOf(text, `${P}requests_total`, 'tenant')).toEqual(new Set(['anonymous', 'other', 'ok']));
    expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(8);
  });

  it('starts the overflow counter at zero for each label, and counts by label', async () => {
    const { request, scrape } = serviceWith({
      labels: {
        tenant: { from: (source) => (source as Source).tenant, max: 1 },
        team: { from: (source) => (source as Source).team },
      },
    });
    expect(valueOf(await scrape(), 'nv_llm_label_overflow_total', { label: 'team' })).toBe(0);
    request({ tenant: 'a', team: 'x' });
    request({ tenant: 'b', team: 'x' });
    request({ tenant: 'c', team: 'y' });
    const text = await scrape();
    expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(2);
    expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'team' })).toBe(0);
    expect(sumOf(text, `${P}requests_total`, { tenant: 'other', team: 'x' })).toBe(1);
    expect(promtoolCheck(text).output).toBe('');
  });

  it('keeps at most max + 1 values and a flat heap under 100 000 distinct hostile values', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { request, scrape, clock } = serviceWith({ labels: { tenant: { from: (source) => (source as Source).tenant, max: 50 } } });
    const heapAfter = async (round: number) => {
      for (let i = 0; i < 50_000; i++) {
        request({ tenant: `key-${round}-${i}-${'x'.repeat(i % 200)}` });
      }
      await scrape();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const first = await heapAfter(1);
    clock.now += 10 * 60 * 60 * 1000;
    const second = await heapAfter(2);
    const text = await scrape();
    expect(valuesOf(text, `${P}requests_total`, 'tenant').size).toBe(51);
    expect(valuesOf(text, `${P}input_sequence_tokens_count`, 'tenant').size).toBe(51);
    // Those of the first round expired with their series; the families without the label kept every request.
    expect(sumOf(text, `${P}requests_total`)).toBe(50_000);
    expect(valueOf(text, `${P}request_duration_seconds_count`, { model: 'm' })).toBe(100_000);
    expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(100_000 - 100);
    expect((second - first) / 2 ** 20).toBeLessThan(2);
  });

  describe('expiry', () => {
    it('forgets a value idle for labelTtl with all its series, keeping the counts of the families without the label', async () => {
      const { request, scrape, clock } = serviceWith({ labelTtl: 60_000 });
      // Counted, not scraped yet, when the value expires.
      request({ tenant: 'old' });
      request({ tenant: 'old' });
      clock.now = 30_000;
      request({ tenant: 'recent' });
      clock.now = 60_000 + 1;
      const text = await scrape();
      expect(valuesOf(text, `${P}requests_total`, 'tenant')).toEqual(new Set(['recent']));
      expect(valuesOf(text, `${P}input_sequence_tokens_count`, 'tenant')).toEqual(new Set(['recent']));
      expect(valueOf(text, `${P}request_duration_seconds_count`, { model: 'm' })).toBe(3);
      clock.now += 60_000;
      const later = await scrape();
      expect(samplesOf(later, `${P}requests_total`)).toEqual([]);
      expect(valueOf(later, `${P}request_duration_seconds_count`, { model: 'm' })).toBe(3);
    });

    it('keeps a value while a request with it is in flight, and frees its place under the cap once forgotten', async () => {
      const { request, scrape, clock, service } = serviceWith({
        labelTtl: 1000,
        labels: { tenant: { from: (source) => (source as Source).tenant, max: 1 } },
      });
      const open = service.createInflightGuard('m', Endpoint.ChatCompletions, true, { tenant: 'long' });
      clock.now = 5000;
      expect(request({ tenant: 'next' }).labels).toEqual({ tenant: 'other' });
      expect(valuesOf(await scrape(), `${P}inflight_requests`, 'tenant')).toEqual(new Set([undefined]));
      open.markOk();
      open.finish();
      clock.now = 10_000;
      expect(request({ tenant: 'next' }).labels).toEqual({ tenant: 'next' });
      const text = await scrape();
      expect(valuesOf(text, `${P}requests_total`, 'tenant')).toEqual(new Set(['next']));
      expect(sumOf(text, `${P}requests_total`)).toBe(1);
    });

    it('never forgets with labelTtl Infinity', async () => {
      const { request, scrape, clock } = serviceWith({ labelTtl: Infinity });
      request({ tenant: 'a' });
      clock.now = 1e12;
      expect(valuesOf(await scrape(), `${P}requests_total`, 'tenant')).toEqual(new Set(['a']));
    });
  });

  it('gives the OpenTelemetry measurements the labels of the Prometheus families they match', async () => {
    const { meterProvider, reader } = testMeterProvider();
    const { service } = serviceWith({
      openTelemetry: { meterProvider },
      labels: {
        tenant: { from: (source) => (source as Source).tenant },
        team: { from: (source) => (source as Source).team, metrics: ['request_duration_seconds', 'time_to_first_token_seconds'] },
      },
    });
    const guard = service.createInflightGuard('m', Endpoint.ChatCompletions, true, { tenant: 'acme', team: 'red' });
    expect(guard.labels).toEqual({ tenant: 'acme', team: 'red' });
    guard.recordOutput(1);
    guard.recordOutput(1);
    guard.recordUsage({ prompt_tokens: 3, completion_tokens: 2 });
    guard.markOk();
    guard.finish();
    const metrics = await reader.metrics();
    const attributesOf = (name: string) =>
      histogramPoints(metrics.get(name)).map(({ attributes }) => ({ tenant: attributes.tenant, team: attributes.team }));
    expect(attributesOf('gen_ai.server.request.duration')).toEqual([{ tenant: undefined, team: 'red' }]);
    expect(attributesOf('gen_ai.server.time_to_first_token')).toEqual([{ tenant: undefined, team: 'red' }]);
    expect(attributesOf('gen_ai.server.time_per_output_token')).toEqual([{ tenant: undefined, team: undefined }]);
    expect(attributesOf('gen_ai.client.token.usage')).toEqual([
      { tenant: 'acme', team: undefined },
      { tenant: 'acme', team: undefined },
    ]);
  });

  describe('options', () => {
    const from = () => 'a';
    it.each([
      [{ model: { from } }, /"labels" must be keyed by names other than model/],
      [{ le: { from } }, /"labels" must be keyed by names other than .*le, quantile, got "le"/],
      [{ 'bad-name': { from } }, /"labels" must be keyed by label names matching/],
      [{ __tenant: { from } }, /not starting with "__"/],
      [{ tenant: {} }, /"labels.tenant.from" must be a function/],
      [{ tenant: { from, max: 0 } }, /"labels.tenant.max" must be a positive integer, got 0/],
      [{ tenant: { from, allow: 'a' } }, /"labels.tenant.allow" must be an array of values or a function/],
      [{ tenant: { from, missing: 'a\nb' } }, /"labels.tenant.missing"/],
      [
        { tenant: { from, metrics: ['requests'] } },
        /"labels.tenant.metrics" must be an array of metric names of the "dynamo-0.2.1" schema/,
      ],
      [{ tenant: { from, metrics: ['model_ready'] } }, /"labels.tenant.metrics"/],
    ])('refuses %j, naming the option', (labels, message) => {
      expect(
        () =>
          new LlmMetricsService(undefined, {
            labels: labels as never,
            schema: 'dynamo-frontend' in labels ? 'dynamo-frontend' : undefined,
          }),
      ).toThrow(message);
    });

    it('refuses a labelTtl that is not a positive number', () => {
      expect(() => new LlmMetricsService(undefined, { labels: { tenant: { from } }, labelTtl: 0 })).toThrow(
        /"labelTtl" must be a positive number/,
      );
    });

    it('accepts the families of the frontend schema it names', () => {
      expect(
        () =>
          new LlmMetricsService(undefined, {
            schema: 'dynamo-frontend',
            labels: { tenant: { from, metrics: ['requests_started_total', 'queued_requests'] } },
          }),
      ).not.toThrow();
      expect(
        () => new LlmMetricsService(undefined, { schema: 'dynamo-frontend', labels: { tenant: { from, metrics: ['model_ready'] } } }),
      ).toThrow(/"labels.tenant.metrics"/);
    });
  });
});
