import {
  DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD,
  NativeHistogram,
  type NativeHistogramOptions,
  type NativeHistogramSnapshot,
  frexp,
  nativeBucketKey,
} from '../../src/store/native-histogram.js';
import { seededRandom } from '../support/load.js';

/** The bits of a double, to step to its neighbours and take it apart without arithmetic. */
function bitsOf(value: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return view.getBigUint64(0);
}

function fromBits(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

/** The next double above a positive finite `value`. */
const nextUp = (value: number): number => fromBits(bitsOf(value) + 1n);
/** The next double below a positive `value`. */
const nextDown = (value: number): number => fromBits(bitsOf(value) - 1n);

/** `math.Frexp` from the bits: the exponent field, rebiased; subnormals first scaled by 2^64. */
function referenceFrexp(value: number): { frac: number; exp: number } {
  const biased = Number((bitsOf(value) >> 52n) & 0x7ffn);
  if (biased === 0) {
    const scaled = referenceFrexp(value * 2 ** 64);
    return { frac: scaled.frac, exp: scaled.exp - 64 };
  }
  // Exponent field 1022 makes the magnitude [0.5, 1), the sign and fraction bits kept.
  const frac = fromBits((bitsOf(value) & ~(0x7ffn << 52n)) | (1022n << 52n));
  return { frac, exp: biased - 1022 };
}

function observed(values: readonly number[], options: NativeHistogramOptions): NativeHistogramSnapshot {
  const histogram = new NativeHistogram(options);
  for (const value of values) {
    histogram.observe(value);
  }
  return histogram.snapshot();
}

/** The bucket counts by index that spans and deltas encode (empty buckets left out). */
function decodeBuckets(spans: NativeHistogramSnapshot['positiveSpans'], deltas: readonly number[]): Map<number, number> {
  const buckets = new Map<number, number>();
  let index = 0;
  let position = 0;
  let count = 0;
  for (const { offset, length } of spans) {
    index += offset;
    for (let i = 0; i < length; i++, index++) {
      count += deltas[position++];
      if (count !== 0) buckets.set(index, count);
    }
  }
  expect(position).toBe(deltas.length);
  return buckets;
}

const SCHEMAS = Array.from({ length: 13 }, (_, i) => i - 4);

describe('frexp', () => {
  it('takes doubles apart as math.Frexp does, subnormals and extremes included', () => {
    const edges = [
      1,
      0.5,
      0.75,
      2,
      3,
      1e-300,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      2 ** -1022,
      nextDown(2 ** -1022),
      2 ** -1073,
      nextUp(1),
      nextDown(1),
      nextDown(2 ** 1023),
      -0.3,
      -Number.MIN_VALUE,
    ];
    for (const value of edges) {
      expect(frexp(value)).toEqual(referenceFrexp(value));
    }
    const random = seededRandom(1);
    const mismatches: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const value = fromBits((BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32)));
      if (Number.isFinite(value) && value !== 0) {
        const [got, want] = [frexp(value), referenceFrexp(value)];
        if (got.frac !== want.frac || got.exp !== want.exp) mismatches.push(value);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('gives 0, ±Infinity and NaN back with an exponent of 0', () => {
    expect(frexp(0)).toEqual({ frac: 0, exp: 0 });
    expect(frexp(Infinity)).toEqual({ frac: Infinity, exp: 0 });
    expect(frexp(Number.NaN)).toEqual({ frac: Number.NaN, exp: 0 });
  });
});

describe('nativeBucketKey', () => {
  // Go's nativeHistogramBounds[2] and [3], as published in client_golang.
  const GO_BOUNDS: Record<number, number[]> = {
    2: [0.5, 0.5946035575013605, 0.7071067811865475, 0.8408964152537144],
    3: [
      0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048, 0.7071067811865475, 0.7711054127039704, 0.8408964152537144,
      0.9170040432046711,
    ],
  };

  it.each([2, 3])("puts each of Go's schema %i bounds at the top of its bucket and the next double in the next bucket", (schema) => {
    const bounds = GO_BOUNDS[schema];
    for (const exp of [-20, -1, 0, 1, 2, 10, 300]) {
      bounds.forEach((bound, index) => {
        const value = bound * 2 ** exp;
        const key = index + (exp - 1) * bounds.length;
        expect(nativeBucketKey(value, schema)).toBe(key);
        expect(nativeBucketKey(nextUp(value), schema)).toBe(key + 1);
        expect(nativeBucketKey(nextDown(value), schema)).toBe(key);
      });
    }
  });

  it("follows Go's table where it differs from the nearest double: √2 rounds up, past Go's bound", () => {
    // Go's bound is 0.7071067811865475·2; Math.SQRT2 (…0951) is above both it and √2.
    expect(nativeBucketKey(1.414213562373095, 1)).toBe(1);
    expect(nativeBucketKey(Math.SQRT2, 1)).toBe(2);
    expect(nativeBucketKey(Math.SQRT2, 8)).toBe(129);
  });

  it.each(SCHEMAS)('puts every power of two at the top of a bucket in schema %i', (schema) => {
    // Independently: 2^n is the upper bound of bucket n·2^s (s ≥ 0) or ⌈n / 2^−s⌉ (s < 0).
    const keyOfPowerOfTwo = (n: number) => (schema >= 0 ? n * 2 ** schema : Math.ceil(n / 2 ** -schema));
    const mismatches: string[] = [];
    const check = (label: string, got: number, want: number) => {
      if (got !== want) mismatches.push(`${label}: ${got} instead of ${want}`);
    };
    for (let n = -1074; n <= 1023; n++) {
      const value = 2 ** n;
      const key = keyOfPowerOfTwo(n);
      check(`2^${n}`, nativeBucketKey(value, schema), key);
      check(`-2^${n}`, nativeBucketKey(-value, schema), key);
      // The neighbours of normal powers of two (those of subnormal ones are relatively far away).
      if (n > -1022) {
        check(`below 2^${n}`, nativeBucketKey(nextDown(value), schema), key);
        // Just above: the next bucket, unless 2^n is not a boundary of a coarse schema.
        const isBoundary = schema >= 0 || n % 2 ** -schema === 0;
        check(`above 2^${n}`, nativeBucketKey(nextUp(value), schema), isBoundary ? key + 1 : key);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('counts the largest double in the last bucket and ±Infinity in the one after it', () => {
    // Go's "+Inf observation" case: schema 2, overflow bucket 4097.
    expect(nativeBucketKey(Number.MAX_VALUE, 2)).toBe(4096);
    expect(nativeBucketKey(Infinity, 2)).toBe(4097);
    expect(nativeBucketKey(-Infinity, 2)).toBe(4097);
    expect(nativeBucketKey(Infinity, -1)).toBe(513);
    expect(nativeBucketKey(Infinity, 0)).toBe(1025);
  });

  it('puts a value strictly inside a bucket where base^(i−1) < value ≤ base^i says', () => {
    const random = seededRandom(2);
    const mismatches: string[] = [];
    for (const schema of SCHEMAS) {
      for (let i = 0; i < 500; i++) {
        const value = Math.exp((random() - 0.5) * 200);
        // Away from a boundary (by a margin), log2 is exact enough to tell the bucket.
        const position = Math.log2(value) * 2 ** schema;
        if (Math.abs(position - Math.round(position)) > 1e-6 && nativeBucketKey(value, schema) !== Math.ceil(position)) {
          mismatches.push(`${value} at schema ${schema}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('has no bucket for NaN', () => {
    expect(() => nativeBucketKey(Number.NaN, 3)).toThrow(RangeError);
  });
});

describe('NativeHistogram', () => {
  // Expectations of client_golang's TestNativeHistogram, for the same observations.
  it.each<[string, number[], number, Partial<NativeHistogramSnapshot>]>([
    [
      'schema 3',
      [0, 1, 2, 3],
      3,
      {
        count: 4,
        sum: 6,
        zeroCount: 1,
        positiveSpans: [
          { offset: 0, length: 1 },
          { offset: 7, length: 1 },
          { offset: 4, length: 1 },
        ],
        positiveDeltas: [1, 0, 0],
      },
    ],
    [
      'schema 2',
      [0, 1, 1.2, 1.4, 1.8, 2],
      2,
      { count: 6, sum: 7.4, zeroCount: 1, positiveSpans: [{ offset: 0, length: 5 }], positiveDeltas: [1, -1, 2, -2, 2] },
    ],
    [
      'schema -1',
      [0.5, 1, 1.5, 2, 3, 3.5, 5, 6, 7, 33.33],
      -1,
      { count: 10, sum: 62.83, zeroCount: 0, positiveSpans: [{ offset: 0, length: 4 }], positiveDeltas: [2, 2, -1, -2] },
    ],
    [
      'schema -2',
      [0.5, 1, 1.5, 2, 3, 3.5, 5, 6, 7, 33.33],
      -2,
      { count: 10, sum: 62.83, zeroCount: 0, positiveSpans: [{ offset: 0, length: 3 }], positiveDeltas: [2, 5, -6] },
    ],
    [
      'negative buckets',
      [0, -1, -1.2, -1.4, -1.8, -2],
      2,
      {
        count: 6,
        sum: -7.4,
        zeroCount: 1,
        negativeSpans: [{ offset: 0, length: 5 }],
        negativeDeltas: [1, -1, 2, -2, 2],
        positiveSpans: [],
      },
    ],
    [
      'negative and positive buckets',
      [0, -1, -1.2, -1.4, -1.8, -2, 1, 1.2, 1.4, 1.8, 2],
      2,
      {
        count: 11,
        sum: 0,
        zeroCount: 1,
        negativeSpans: [{ offset: 0, length: 5 }],
        negativeDeltas: [1, -1, 2, -2, 2],
        positiveSpans: [{ offset: 0, length: 5 }],
        positiveDeltas: [1, -1, 2, -2, 2],
      },
    ],
    [
      '+Inf',
      [0, 1, 1.2, 1.4, 1.8, 2, Infinity],
      2,
      {
        count: 7,
        sum: Infinity,
        positiveSpans: [
          { offset: 0, length: 5 },
          { offset: 4092, length: 1 },
        ],
        positiveDeltas: [1, -1, 2, -2, 2, -1],
      },
    ],
    [
      '-Inf',
      [0, 1, 1.2, 1.4, 1.8, 2, -Infinity],
      2,
      {
        count: 7,
        sum: -Infinity,
        negativeSpans: [{ offset: 4097, length: 1 }],
        negativeDeltas: [1],
        positiveSpans: [{ offset: 0, length: 5 }],
      },
    ],
  ])("matches the Go client's histogram for %s", (_, values, schema, expected) => {
    const snapshot = observed(values, { schema, maxBuckets: 0 });
    expect(snapshot).toMatchObject({ schema, zeroThreshold: 2.938735877055719e-39, ...expected });
  });

  it('counts NaN and adds it to the sum, as Go does, but puts it in no bucket', () => {
    const snapshot = observed([0, 1, 1.2, 1.4, 1.8, 2, Number.NaN], { schema: 2 });
    expect(snapshot).toMatchObject({
      count: 7,
      zeroCount: 1,
      positiveSpans: [{ offset: 0, length: 5 }],
      positiveDeltas: [1, -1, 2, -2, 2],
    });
    expect(snapshot.sum).toBeNaN();
  });

  describe('the zero bucket', () => {
    it('takes magnitudes up to 2^−128 by default, the same as Go', () => {
      expect(DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD).toBe(2.938735877055719e-39);
      const threshold = DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD;
      const snapshot = observed([0, -0, threshold, -threshold, nextUp(threshold), -nextUp(threshold)], {});
      expect(snapshot.zeroCount).toBe(4);
      // Just past 2^−128: the bucket above that boundary, 2^−128 being the top of bucket −128·8.
      expect(snapshot.positiveSpans).toEqual([{ offset: -128 * 8 + 1, length: 1 }]);
      expect(snapshot.negativeSpans).toEqual([{ offset: -128 * 8 + 1, length: 1 }]);
    });

    it('takes exact zeros only with a threshold of 0', () => {
      const snapshot = observed([0, -0, Number.MIN_VALUE, -Number.MIN_VALUE], { zeroThreshold: 0 });
      expect(snapshot).toMatchObject({ zeroThreshold: 0, zeroCount: 2, positiveDeltas: [1], negativeDeltas: [1] });
    });

    it('takes a wide threshold as given (Go\'s "wide zero bucket" case)', () => {
      const snapshot = observed([0, -1, -1.2, -1.4, -1.8, -2, 1, 1.2, 1.4, 1.8, 2], { schema: 2, zeroThreshold: 1.4 });
      expect(snapshot).toMatchObject({
        zeroThreshold: 1.4,
        zeroCount: 7,
        negativeSpans: [{ offset: 4, length: 1 }],
        negativeDeltas: [2],
        positiveSpans: [{ offset: 4, length: 1 }],
        positiveDeltas: [2],
      });
    });
  });

  describe('spans and deltas', () => {
    it('bridges gaps of one or two empty buckets with zero deltas and opens a new span past that, as Go does', () => {
      // Schema 0: 2^k is the top of bucket k. Buckets 0, 2 (gap 1), 5 (gap 2), 9 (gap 3).
      const values = [1, 4, 4, 4, 32, 32, 512, 512, 512, 512];
      const snapshot = observed(values, { schema: 0 });
      expect(snapshot.positiveSpans).toEqual([
        { offset: 0, length: 6 },
        { offset: 3, length: 1 },
      ]);
      expect(snapshot.positiveDeltas).toEqual([1, -1, 3, -3, 0, 2, 2]);
      expect(decodeBuckets(snapshot.positiveSpans, snapshot.positiveDeltas)).toEqual(
        new Map([
          [0, 1],
          [2, 3],
          [5, 2],
          [9, 4],
        ]),
      );
    });

    it('starts the first span at the index of the lowest bucket, negative ones included', () => {
      const snapshot = observed([0.125, 0.125, 0.5, 2 ** 20], { schema: 0 });
      expect(snapshot.positiveSpans).toEqual([
        { offset: -3, length: 3 },
        { offset: 20, length: 1 },
      ]);
      expect(snapshot.positiveDeltas).toEqual([2, -2, 1, 0]);
    });

    it('has no span for an empty histogram with a zero bucket, and the no-op span of Go when its threshold is 0', () => {
      expect(new NativeHistogram().snapshot()).toEqual({
        schema: 3,
        zeroThreshold: DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD,
        zeroCount: 0,
        count: 0,
        sum: 0,
        positiveSpans: [],
        positiveDeltas: [],
        negativeSpans: [],
        negativeDeltas: [],
      });
      const empty = new NativeHistogram({ zeroThreshold: 0 }).snapshot();
      expect(empty.positiveSpans).toEqual([{ offset: 0, length: 0 }]);
      expect(empty.positiveDeltas).toEqual([]);
      // With an observation in the zero bucket, it is recognisable without.
      expect(observed([0], { zeroThreshold: 0 }).positiveSpans).toEqual([]);
    });

    it('gives a snapshot that later observations leave as it was', () => {
      const histogram = new NativeHistogram();
      histogram.observe(1);
      const before = histogram.snapshot();
      histogram.observe(1);
      histogram.observe(1.5);
      expect(before).toMatchObject({ count: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [1] });
    });
  });

  describe('resolution reduction', () => {
    it('halves the resolution once the buckets exceed maxBuckets (Go\'s "buckets limited by halving resolution" cases)', () => {
      const values = [0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3];
      expect(observed(values, { schema: 2, maxBuckets: 4 })).toMatchObject({
        schema: 1,
        count: 8,
        sum: 11.5,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 5 }],
        positiveDeltas: [1, 2, -1, -2, 1],
      });
      expect(
        observed(
          values.map((value) => -value),
          { schema: 2, maxBuckets: 4 },
        ),
      ).toMatchObject({
        schema: 1,
        sum: -11.5,
        negativeSpans: [{ offset: 0, length: 5 }],
        negativeDeltas: [1, 2, -1, -2, 1],
        positiveSpans: [],
      });
      // At the limit, not past it: nothing changes.
      expect(observed([0, 1, 1.2, 1.4, 1.8, 2], { schema: 2, maxBuckets: 4 })).toMatchObject({
        schema: 2,
        positiveDeltas: [1, -1, 2, -2, 2],
      });
    });

    it('merges bucket i into bucket ⌈i/2⌉, below 1 as above', () => {
      // Schema 1 keys −3 … 3: the tops 2^(k/2).
      const values = [-3, -2, -1, 0, 1, 2, 3].map((key) => 2 ** (key / 2) * (1 - 1e-12));
      const snapshot = observed(values, { schema: 1, maxBuckets: 6 });
      expect(snapshot.schema).toBe(0);
      expect(decodeBuckets(snapshot.positiveSpans, snapshot.positiveDeltas)).toEqual(
        new Map([
          [-1, 2],
          [0, 2],
          [1, 2],
          [2, 1],
        ]),
      );
    });

    it('ends with the buckets it would have had, had it observed everything at the final schema', () => {
      const random = seededRandom(3);
      const values = Array.from({ length: 5_000 }, () => (random() < 0.1 ? -1 : 1) * Math.exp((random() - 0.5) * 30));
      const reduced = observed(values, { schema: 8, maxBuckets: 40 });
      expect(reduced.schema).toBeLessThan(8);
      const direct = observed(values, { schema: reduced.schema, maxBuckets: 0 });
      expect(reduced).toEqual(direct);
      const buckets =
        decodeBuckets(reduced.positiveSpans, reduced.positiveDeltas).size +
        decodeBuckets(reduced.negativeSpans, reduced.negativeDeltas).size;
      expect(buckets).toBeLessThanOrEqual(40);
    });

    it('halves once per observation, so one still over the limit halves again', () => {
      const histogram = new NativeHistogram({ schema: 8, maxBuckets: 1 });
      histogram.observe(1);
      histogram.observe(1000);
      expect(histogram.schema).toBe(7);
      histogram.observe(1);
      expect(histogram.schema).toBe(6);
    });

    it('stops at schema −4', () => {
      const snapshot = observed([1, 2 ** 20, 2 ** 40, 2 ** 60], { schema: -3, maxBuckets: 1 });
      expect(snapshot.schema).toBe(-4);
      expect(decodeBuckets(snapshot.positiveSpans, snapshot.positiveDeltas)).toEqual(
        new Map([
          [0, 1],
          [2, 1],
          [3, 1],
          [4, 1],
        ]),
      );
    });

    it('keeps at most 160 buckets by default, and sets no limit with maxBuckets 0', () => {
      // 400 values 1% apart: each in its own bucket at schema 8.
      const values = Array.from({ length: 400 }, (_, i) => 1.01 ** i);
      const unlimited = observed(values, { schema: 8, maxBuckets: 0 });
      expect(unlimited.schema).toBe(8);
      expect(decodeBuckets(unlimited.positiveSpans, unlimited.positiveDeltas).size).toBe(400);
      const limited = observed(values, { schema: 8 });
      expect(limited.schema).toBeLessThan(8);
      expect(decodeBuckets(limited.positiveSpans, limited.positiveDeltas).size).toBeLessThanOrEqual(160);
    });
  });

  it.each<[string, NativeHistogramOptions]>([
    ['schema 9', { schema: 9 }],
    ['schema -5', { schema: -5 }],
    ['schema 1.5', { schema: 1.5 }],
    ['zeroThreshold -1', { zeroThreshold: -1 }],
    ['zeroThreshold NaN', { zeroThreshold: Number.NaN }],
    ['zeroThreshold Infinity', { zeroThreshold: Infinity }],
    ['maxBuckets -1', { maxBuckets: -1 }],
    ['maxBuckets 2.5', { maxBuckets: 2.5 }],
  ])('refuses %s', (_, options) => {
    expect(() => new NativeHistogram(options)).toThrow(RangeError);
  });
});
