import protobuf from 'protobufjs';
import { NativeHistogram } from '../../src/store/native-histogram.js';
import { decodeProtobufExposition as decode } from '../support/protobuf.js';
import { METRIC_FAMILY_TYPE, type MetricFamilyData } from '../../src/exposition/protobuf-messages.js';
import { encodeProtobufExposition } from '../../src/exposition/protobuf-writer.js';
import { nativeBucketsIn } from '../../src/exposition/protobuf-renderer.js';
import { renderStoreAndRegistryProtobuf } from '../../src/exposition/registry-exposition.js';
import { RenderSlices } from '../../src/exposition/render-slices.js';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { jest } from '@jest/globals';
import { Endpoint, LlmMetricsService, PROTOBUF_EXPOSITION_CONTENT_TYPE, renderProtobuf } from '../../src/index.js';

/** One field as the wire carries it: a varint, a fixed64 or a length-delimited payload. */
interface WireField {
  field: number;
  wireType: 0 | 1 | 2;
  varint?: bigint;
  fixed64?: number;
  bytes?: Uint8Array;
}

/**
 * The fields of one message, read by hand from the protobuf wire format (no
 * message definitions): what the field numbers and wire types really are.
 */
function wireFields(bytes: Uint8Array): WireField[] {
  let position = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = bytes[position++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
  };
  const fields: WireField[] = [];
  while (position < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      fields.push({ field, wireType, varint: varint() });
    } else if (wireType === 1) {
      fields.push({ field, wireType, fixed64: new DataView(bytes.buffer, bytes.byteOffset + position, 8).getFloat64(0, true) });
      position += 8;
    } else if (wireType === 2) {
      const length = Number(varint());
      fields.push({ field, wireType, bytes: bytes.subarray(position, position + length) });
      position += length;
    } else {
      throw new Error(`unexpected wire type ${wireType}`);
    }
  }
  return fields;
}

/** A sint32 or sint64 from its zigzag varint. */
const zigzag = (value: bigint): number => Number((value >> 1n) ^ -(value & 1n));

const nativeHistogram = new NativeHistogram({ schema: 1 });
for (const value of [0, 0.3, 0.3, 1, 1.5, 2, 2, 2, 40, -0.7, -3]) {
  nativeHistogram.observe(value);
}
const native = nativeHistogram.snapshot();

const FAMILIES: MetricFamilyData[] = [
  {
    name: 'app_requests_total',
    help: 'Requests, with "quotes" and a\nnew line',
    type: 'counter',
    metrics: [
      {
        labels: { status: 'success', model: 'llama' },
        value: 3,
        exemplar: { labels: { trace_id: 'abc' }, value: 1, timestampMs: 1_700_000_000_123 },
      },
      { value: 0 },
    ],
  },
  {
    name: 'app_inflight',
    help: 'In flight',
    type: 'gauge',
    metrics: [
      { labels: { model: 'a' }, value: -2.5 },
      { labels: { model: 'b' }, value: Number.NaN },
      { labels: { model: 'c' }, value: Infinity },
    ],
  },
  {
    name: 'app_latency_seconds',
    help: 'Latency',
    type: 'histogram',
    metrics: [
      {
        labels: { model: 'a' },
        count: native.count,
        sum: native.sum,
        buckets: [
          { upperBound: 0.5, cumulativeCount: 5, exemplar: { labels: { trace_id: 'def' }, value: 0.3 } },
          { upperBound: 2.5, cumulativeCount: 9 },
          { upperBound: Infinity, cumulativeCount: 11 },
        ],
        native,
      },
      { labels: { model: 'classic' }, count: 2, sum: 1.5, buckets: [{ upperBound: 1, cumulativeCount: 1 }] },
    ],
  },
];

describe('encodeProtobufExposition', () => {
  it('names the content type Prometheus asks for', () => {
    expect(PROTOBUF_EXPOSITION_CONTENT_TYPE).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
  });

  it('writes each family as one message behind its varint length', () => {
    const bytes = encodeProtobufExposition(FAMILIES);
    const reader = protobuf.Reader.create(bytes);
    const names: string[] = [];
    while (reader.pos < reader.len) {
      const length = reader.uint32();
      const message = bytes.subarray(reader.pos, reader.pos + length);
      names.push(METRIC_FAMILY_TYPE.decode(message).toJSON().name);
      reader.skip(length);
    }
    expect(reader.pos).toBe(bytes.length);
    expect(names).toEqual(['app_requests_total', 'app_inflight', 'app_latency_seconds']);
    expect(encodeProtobufExposition([])).toHaveLength(0);
  });

  it('round-trips a counter, with its labels sorted by name and its exemplar', () => {
    expect(decode(encodeProtobufExposition(FAMILIES))[0]).toEqual({
      name: 'app_requests_total',
      help: 'Requests, with "quotes" and a\nnew line',
      type: 'COUNTER',
      metric: [
        {
          label: [
            { name: 'model', value: 'llama' },
            { name: 'status', value: 'success' },
          ],
          counter: {
            value: 3,
            exemplar: { label: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: { seconds: 1_700_000_000, nanos: 123_000_000 } },
          },
        },
        { label: [], counter: { value: 0 } },
      ],
    });
  });

  it('round-trips a gauge, odd values included', () => {
    expect(decode(encodeProtobufExposition(FAMILIES))[1]).toEqual({
      name: 'app_inflight',
      help: 'In flight',
      type: 'GAUGE',
      metric: [
        { label: [{ name: 'model', value: 'a' }], gauge: { value: -2.5 } },
        { label: [{ name: 'model', value: 'b' }], gauge: { value: Number.NaN } },
        { label: [{ name: 'model', value: 'c' }], gauge: { value: Infinity } },
      ],
    });
  });

  it('round-trips a histogram with classic and native buckets, and one with classic buckets only', () => {
    // Schema 1: 0.3 → bucket −3, 1 → 0, 1.5 and 2 → 2, 40 → 11 (the gap of 2 bridged, that of 8 not); −0.7 → −1, −3 → 4.
    expect(native).toMatchObject({
      positiveSpans: [
        { offset: -3, length: 6 },
        { offset: 8, length: 1 },
      ],
      positiveDeltas: [2, -2, 0, 1, -1, 4, -3],
      negativeSpans: [
        { offset: -1, length: 1 },
        { offset: 4, length: 1 },
      ],
      negativeDeltas: [1, 0],
    });
    expect(decode(encodeProtobufExposition(FAMILIES))[2]).toEqual({
      name: 'app_latency_seconds',
      help: 'Latency',
      type: 'HISTOGRAM',
      metric: [
        {
          label: [{ name: 'model', value: 'a' }],
          histogram: {
            sample_count: 11,
            sample_sum: native.sum,
            bucket: [
              { cumulative_count: 5, upper_bound: 0.5, exemplar: { label: [{ name: 'trace_id', value: 'def' }], value: 0.3 } },
              { cumulative_count: 9, upper_bound: 2.5 },
              { cumulative_count: 11, upper_bound: Infinity },
            ],
            schema: 1,
            zero_threshold: 2 ** -128,
            zero_count: 1,
            negative_span: native.negativeSpans,
            negative_delta: native.negativeDeltas,
            positive_span: native.positiveSpans,
            positive_delta: native.positiveDeltas,
          },
        },
        {
          label: [{ name: 'model', value: 'classic' }],
          histogram: {
            sample_count: 2,
            sample_sum: 1.5,
            bucket: [{ cumulative_count: 1, upper_bound: 1 }],
            negative_span: [],
            negative_delta: [],
            positive_span: [],
            positive_delta: [],
          },
        },
      ],
    });
  });

  it("writes the native fields under metrics.proto's numbers and wire types, read without the definitions", () => {
    const bytes = encodeProtobufExposition([FAMILIES[2]]);
    const reader = protobuf.Reader.create(bytes);
    const length = reader.uint32();
    expect(reader.pos + length).toBe(bytes.length);
    const family = wireFields(bytes.subarray(reader.pos));
    // MetricFamily: name = 1, help = 2, type = 3 (HISTOGRAM = 4), metric = 4.
    expect(family.map(({ field, wireType }) => [field, wireType])).toEqual([
      [1, 2],
      [2, 2],
      [3, 0],
      [4, 2],
      [4, 2],
    ]);
    expect(family[2].varint).toBe(4n);
    // Metric: label = 1, histogram = 7.
    const metric = wireFields(family[3].bytes!);
    expect(metric.map(({ field }) => field)).toEqual([1, 7]);
    const histogram = wireFields(metric[1].bytes!);
    // Histogram: sample_count = 1, sample_sum = 2, bucket = 3, schema = 5 (sint32), zero_threshold = 6,
    // zero_count = 7, negative_span = 9, negative_delta = 10 (sint64, one by one as proto2 writes
    // them), positive_span = 12, positive_delta = 13.
    const byField = (field: number) => histogram.filter((entry) => entry.field === field);
    expect(byField(1)).toEqual([{ field: 1, wireType: 0, varint: 11n }]);
    expect(byField(2)).toEqual([{ field: 2, wireType: 1, fixed64: native.sum }]);
    expect(byField(3)).toHaveLength(3);
    expect(byField(5).map(({ wireType, varint }) => [wireType, zigzag(varint!)])).toEqual([[0, 1]]);
    expect(byField(6)).toEqual([{ field: 6, wireType: 1, fixed64: 2 ** -128 }]);
    expect(byField(7)).toEqual([{ field: 7, wireType: 0, varint: 1n }]);
    expect(byField(10).map(({ wireType, varint }) => [wireType, zigzag(varint!)])).toEqual([
      [0, 1],
      [0, 0],
    ]);
    expect(byField(13).map(({ varint }) => zigzag(varint!))).toEqual([2, -2, 0, 1, -1, 4, -3]);
    // BucketSpan: offset = 1 (sint32), length = 2 (uint32).
    const spans = byField(12).map(({ bytes: span }) =>
      wireFields(span!).map(({ field, varint }) => (field === 1 ? zigzag(varint!) : Number(varint))),
    );
    expect(spans).toEqual([
      [-3, 6],
      [8, 1],
    ]);
    expect(byField(9)).toHaveLength(2);
    // Bucket: cumulative_count = 1, upper_bound = 2, exemplar = 3.
    expect(wireFields(byField(3)[0].bytes!).map(({ field, wireType }) => [field, wireType])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
  });

  it('keeps the no-op span of an empty native histogram with a zero threshold of 0', () => {
    const empty = new NativeHistogram({ zeroThreshold: 0 }).snapshot();
    const [family] = decode(
      encodeProtobufExposition([{ name: 'empty', help: 'Empty', type: 'histogram', metrics: [{ count: 0, sum: 0, native: empty }] }]),
    );
    expect(family.metric).toEqual([
      {
        label: [],
        histogram: {
          sample_count: 0,
          sample_sum: 0,
          bucket: [],
          schema: 3,
          zero_threshold: 0,
          zero_count: 0,
          negative_span: [],
          negative_delta: [],
          positive_span: [{ offset: 0, length: 0 }],
          positive_delta: [],
        },
      },
    ]);
  });
});

describe('renderProtobuf', () => {
  /** The metrics of a decoded family, by the JSON of their labels. */
  const metricsOf = (family: Record<string, unknown> | undefined) =>
    new Map(
      ((family?.metric ?? []) as { label: { name: string; value: string }[] }[]).map((metric) => [
        JSON.stringify(Object.fromEntries(metric.label.map(({ name, value }) => [name, value]))),
        metric as Record<string, unknown>,
      ]),
    );

  it("renders every metric of a registry as prom-client has it, the registry's default labels included", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ instance: 'a' });
    new Counter({ name: 'app_calls_total', help: 'Calls', labelNames: ['route'], registers: [registry] }).inc({ route: '/x' }, 3);
    new Gauge({ name: 'app_queue', help: 'Queue', registers: [registry] }).set(-2.5);
    const histogram = new Histogram({ name: 'app_seconds', help: 'Time', buckets: [0.1, 1], labelNames: ['route'], registers: [registry] });
    [0.05, 0.5, 5].forEach((value) => histogram.observe({ route: '/x' }, value));
    const summary = new Summary({ name: 'app_size', help: 'Size', percentiles: [0.5, 0.9], registers: [registry] });
    [1, 2, 3].forEach((value) => summary.observe(value));

    const families = decode(await renderProtobuf(registry));
    expect(families.map(({ name, type }) => [name, type])).toEqual([
      ['app_calls_total', 'COUNTER'],
      ['app_queue', 'GAUGE'],
      ['app_seconds', 'HISTOGRAM'],
      ['app_size', 'SUMMARY'],
    ]);
    expect(metricsOf(families[0]).get('{"instance":"a","route":"/x"}')?.counter).toEqual({ value: 3 });
    expect(metricsOf(families[1]).get('{"instance":"a"}')?.gauge).toEqual({ value: -2.5 });
    const classic = metricsOf(families[2]).get('{"instance":"a","route":"/x"}')?.histogram as Record<string, unknown>;
    expect(classic).toMatchObject({
      sample_count: 3,
      sample_sum: 5.55,
      bucket: [
        { cumulative_count: 1, upper_bound: 0.1 },
        { cumulative_count: 2, upper_bound: 1 },
        { cumulative_count: 3, upper_bound: Infinity },
      ],
    });
    expect([classic.positive_span, 'schema' in classic]).toEqual([[], false]);
    expect(metricsOf(families[3]).get('{"instance":"a"}')?.summary).toEqual({
      sample_count: 3,
      sample_sum: 6,
      quantile: [
        { quantile: 0.5, value: 2 },
        { quantile: 0.9, value: 3 },
      ],
    });
  });

  it("adds the native buckets of the service's latency histograms beside their classic ones, and forgets them with their label value", async () => {
    const clock = { now: 0 };
    const registry = new Registry();
    const service = new LlmMetricsService(undefined, {
      clock: () => clock.now,
      nativeHistograms: { schema: 0 },
      labelTtl: 10_000,
      labels: { tenant: { from: (source) => source, metrics: ['requests_total', 'request_duration_seconds'] } },
    });
    service.register(registry);
    for (const [tenant, seconds] of [
      ['acme', 0.75],
      ['acme', 3],
      ['beta', 3],
    ] as const) {
      const guard = service.createInflightGuard('m', Endpoint.ChatCompletions, false, tenant);
      clock.now += seconds * 1000;
      guard.recordUsage({ prompt_tokens: 5 });
      guard.markOk();
      guard.finish();
    }
    const render = async () => decode(await renderProtobuf(registry, nativeBucketsIn(service.store)));
    const byName = (families: Record<string, unknown>[], name: string) => families.find((family) => family.name === name);
    const families = await render();
    const durations = metricsOf(byName(families, 'nv_llm_http_service_request_duration_seconds'));
    // Schema 0: buckets (0.5, 1] (index 0) and (2, 4] (index 2).
    expect(durations.get('{"model":"m","tenant":"acme"}')?.histogram).toMatchObject({
      sample_count: 2,
      sample_sum: 3.75,
      schema: 0,
      zero_count: 0,
      positive_span: [{ offset: 0, length: 3 }],
      positive_delta: [1, -1, 1],
    });
    expect(durations.get('{"model":"m","tenant":"beta"}')?.histogram).toMatchObject({
      sample_count: 1,
      positive_span: [{ offset: 2, length: 1 }],
    });
    // Only the latency histograms have native buckets: the lengths have no schema field at all.
    const lengths = metricsOf(byName(families, 'nv_llm_http_service_input_sequence_tokens')).get('{"model":"m"}')?.histogram as Record<
      string,
      unknown
    >;
    expect([lengths.sample_count, lengths.positive_span, 'schema' in lengths]).toEqual([3, [], false]);
    expect(nativeBucketsIn(service.store)('nv_llm_http_service_input_sequence_tokens', { model: 'm' })).toBeUndefined();

    clock.now += 20_000;
    await registry.metrics();
    expect(nativeBucketsIn(service.store)('nv_llm_http_service_request_duration_seconds', { model: 'm', tenant: 'acme' })).toBeUndefined();
    expect(metricsOf(byName(await render(), 'nv_llm_http_service_request_duration_seconds')).size).toBe(0);
  });

  it('refuses invalid nativeHistograms options, naming the option', () => {
    for (const option of [{ schema: 9 }, { zeroThreshold: -1 }, { maxBuckets: 1.5 }, 'yes']) {
      expect(() => new LlmMetricsService(undefined, { nativeHistograms: option as never })).toThrow(/option "nativeHistograms"/);
    }
  });
});

describe('renderRegistryProtobuf', () => {
  beforeAll(() => {
    // Exemplars are stamped with Date.now() by each store: the same instant for both.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      now: 1_760_000_000_456,
    });
  });
  afterAll(() => {
    jest.useRealTimers();
  });

  it("writes the service's own series as getMetricsAsJSON() gives them, natives, exemplars, default labels and the registry's other metrics included", async () => {
    const clock = { now: 0 };
    const registry = new Registry();
    const defaultLabels = { instance: 'a', model: 'shadowed' };
    registry.setDefaultLabels(defaultLabels);
    const service = new LlmMetricsService(undefined, {
      schema: 'dynamo-frontend',
      clock: () => clock.now,
      exemplars: true,
      nativeHistograms: true,
      labels: { tenant: { from: (source) => source, metrics: ['requests_total', 'request_duration_seconds'] } },
    });
    service.register(registry);
    new Summary({ name: 'app_size', help: 'Size', percentiles: [0.5], registers: [registry] }).observe(3);
    new Counter({ name: 'app_jobs_total', help: 'Jobs', registers: [registry] }).inc(2);
    for (let i = 0; i < 9; i++) {
      const guard = service.createInflightGuard(
        i % 2 ? 'llama' : 'mistral',
        Endpoint.ChatCompletions,
        i % 3 === 0,
        i % 4 ? 'acme' : undefined,
      );
      if (i % 2) {
        guard.linkTrace({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
      }
      clock.now += 40 * i;
      guard.recordOutput(2);
      clock.now += 3 * i;
      guard.recordOutput(1);
      guard.recordUsage({ prompt_tokens: i, completion_tokens: 3 });
      if (i !== 4) {
        guard.markOk();
      }
      guard.finish();
    }
    const fromJson = decode(await renderProtobuf(registry, nativeBucketsIn(service.store)));
    const own = decode(
      Buffer.concat(await renderStoreAndRegistryProtobuf(registry, service.store, { defaultLabels, slices: new RenderSlices(0) })),
    );
    expect(own).toEqual(fromJson);
    const durations = own.find(({ name }) => name === 'dynamo_frontend_request_duration_seconds') as {
      metric: { histogram: { schema?: number; bucket: { exemplar?: unknown }[] } }[];
    };
    expect(durations.metric.every(({ histogram }) => histogram.schema === 3)).toBe(true);
    expect(durations.metric.some(({ histogram }) => histogram.bucket.some(({ exemplar }) => exemplar !== undefined))).toBe(true);
    expect(own.map(({ name }) => name)).toContain('app_size');
  });
});
