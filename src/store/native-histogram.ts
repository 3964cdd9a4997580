import { describeValue } from '../options/option-error.js';

/*
 * A Prometheus native histogram (a sparse exponential histogram), observed
 * the way the Go client (client_golang `prometheus/histogram.go`) observes
 * one, so that the same values land in the same buckets, boundaries included.
 *
 * For a schema s, the bucket of index i covers (base^(i−1), base^i] with
 * base = 2^(2^−s): index 0 is (1/base, 1], every power of two is a boundary,
 * and each one is cut into 2^s buckets (for s > 0) or every 2^−s-th one is a
 * boundary (for s ≤ 0). Values of magnitude at most the zero threshold are
 * counted in the zero bucket; the others in a positive or a negative bucket
 * of the index of their magnitude.
 */

/** Options of a {@link NativeHistogram}. */
export interface NativeHistogramOptions {
  /**
   * The initial resolution, an integer from −4 to 8: each bucket is
   * 2^(2^−schema) times as wide as the one below it. Default 3 (a growth factor
   * of about 1.09, what the Go client picks for its usual factor of 1.1).
   */
  schema?: number;
  /**
   * Observations of magnitude at most this count in the zero bucket. Default
   * 2^−128, as the Go client's `DefNativeHistogramZeroThreshold` (a boundary in
   * every schema); 0 makes a zero bucket for exact zeros only (and an empty
   * histogram that Prometheus 2.42 takes for a classic one, see `snapshot()`).
   */
  zeroThreshold?: number;
  /**
   * The most populated buckets (positive and negative together) kept before
   * the resolution is halved. Default 160; 0 sets no limit.
   */
  maxBuckets?: number;
}

/** A run of consecutive buckets, as `BucketSpan` of Prometheus' `metrics.proto`. */
export interface BucketSpan {
  /** Gap to the end of the previous span, or the index of the first bucket for the first span. */
  readonly offset: number;
  /** How many consecutive buckets the span holds. */
  readonly length: number;
}

/**
 * A native histogram in the encoding of Prometheus' `metrics.proto`: bucket
 * spans, and for each bucket of the spans the difference of its count to the
 * previous bucket's (the first one absolute).
 */
export interface NativeHistogramSnapshot {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  /** All observations, NaN ones included. */
  readonly count: number;
  /** The sum of all observations: NaN after a NaN one, ±Infinity after an infinite one. */
  readonly sum: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly positiveDeltas: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeDeltas: readonly number[];
}

/** The schema a native histogram has unless told otherwise. */
export const DEFAULT_NATIVE_HISTOGRAM_SCHEMA = 3;
/** 2^−128, the Go client's `DefNativeHistogramZeroThreshold`. */
export const DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD = 2 ** -128;
/** The most populated buckets a native histogram keeps unless told otherwise. */
export const DEFAULT_NATIVE_HISTOGRAM_MAX_BUCKETS = 160;

const MIN_SCHEMA = -4;
const MAX_SCHEMA = 8;

/**
 * The Go client's `nativeHistogramBounds[8]`, copied digit for digit: the
 * fractions (as `math.Frexp` gives them, in [0.5, 1)) where the buckets of
 * schema 8 start within a power of two. They are not all the nearest doubles
 * to 2^(k/256 − 1) (Go has 0.7071067811865475 where √½ rounds to …476), so
 * computing them here would put a few boundary values in another bucket.
 */
const SCHEMA_8_BOUNDS: readonly number[] = Object.freeze([
  0.5, 0.5013556375251013, 0.5027149505564014, 0.5040779490592088, 0.5054446430258502, 0.5068150424757447, 0.5081891574554764,
  0.509566998038869, 0.5109485743270583, 0.5123338964485679, 0.5137229745593818, 0.5151158188430205, 0.5165124395106142, 0.5179128468009786,
  0.5193170509806894, 0.520725062344158, 0.5221368912137069, 0.5235525479396449, 0.5249720429003435, 0.526395386502313, 0.5278225891802786,
  0.5292536613972564, 0.5306886136446309, 0.5321274564422321, 0.5335702003384117, 0.5350168559101208, 0.5364674337629877,
  0.5379219445313954, 0.5393803988785598, 0.5408428074966075, 0.5423091811066545, 0.5437795304588847, 0.5452538663326288,
  0.5467321995364429, 0.5482145409081883, 0.549700901315111, 0.5511912916539204, 0.5526857228508706, 0.5541842058618393, 0.5556867516724088,
  0.5571933712979462, 0.5587040757836845, 0.5602188762048033, 0.5617377836665098, 0.5632608093041209, 0.564787964283144, 0.5663192597993595,
  0.5678547070789026, 0.5693943173783458, 0.5709381019847808, 0.572486072215902, 0.5740382394200894, 0.5755946149764913, 0.5771552102951081,
  0.5787200368168754, 0.5802891060137493, 0.5818624293887887, 0.5834400184762408, 0.585021884841625, 0.5866080400818185, 0.5881984958251406,
  0.5897932637314379, 0.5913923554921704, 0.5929957828304968, 0.5946035575013605, 0.5962156912915756, 0.5978321960199137,
  0.5994530835371903, 0.6010783657263515, 0.6027080545025619, 0.6043421618132907, 0.6059806996384005, 0.6076236799902344,
  0.6092711149137041, 0.6109230164863786, 0.6125793968185725, 0.6142402680534349, 0.6159056423670379, 0.6175755319684665,
  0.6192499490999082, 0.620928906036742, 0.622612415087629, 0.6243004885946023, 0.6259931389331581, 0.6276903785123455, 0.6293922197748583,
  0.6310986751971253, 0.6328097572894031, 0.6345254785958666, 0.6362458516947014, 0.637970889198196, 0.6397006037528346, 0.6414350080393891,
  0.6431741147730128, 0.6449179367033329, 0.6466664866145447, 0.6484197773255048, 0.6501778216898253, 0.6519406325959679,
  0.6537082229673385, 0.6554806057623822, 0.6572577939746774, 0.659039800633032, 0.6608266388015788, 0.6626183215798706, 0.6644148621029772,
  0.6662162735415805, 0.6680225691020727, 0.6698337620266515, 0.6716498655934177, 0.6734708931164728, 0.6752968579460171,
  0.6771277734684463, 0.6789636531064505, 0.6808045103191123, 0.6826503586020058, 0.6845012114872953, 0.6863570825438342, 0.688217985377265,
  0.690083933630119, 0.6919549409819159, 0.6938310211492645, 0.6957121878859629, 0.6975984549830999, 0.6994898362691555, 0.7013863456101023,
  0.7032879969095076, 0.7051948041086352, 0.7071067811865475, 0.7090239421602076, 0.7109463010845827, 0.7128738720527471,
  0.7148066691959849, 0.7167447066838943, 0.718687998724491, 0.7206365595643126, 0.7225904034885232, 0.7245495448210174, 0.7265139979245261,
  0.7284837772007218, 0.7304588970903234, 0.7324393720732029, 0.7344252166684908, 0.7364164454346837, 0.7384130729697496,
  0.7404151139112358, 0.7424225829363761, 0.7444354947621984, 0.7464538641456323, 0.7484777058836176, 0.7505070348132126,
  0.7525418658117031, 0.7545822137967112, 0.7566280937263048, 0.7586795205991071, 0.7607365094544071, 0.762799075372269, 0.7648672334736434,
  0.7669409989204777, 0.7690203869158282, 0.7711054127039704, 0.7731960915705107, 0.7752924388424999, 0.7773944698885442,
  0.7795022001189185, 0.7816156449856788, 0.7837348199827764, 0.7858597406461707, 0.7879904225539431, 0.7901268813264122,
  0.7922691326262467, 0.7944171921585818, 0.7965710756711334, 0.7987307989543135, 0.8008963778413465, 0.8030678282083853, 0.805245165974627,
  0.8074284071024302, 0.8096175675974316, 0.8118126635086642, 0.8140137109286738, 0.8162207259936375, 0.8184337248834821, 0.820652723822003,
  0.8228777390769823, 0.8251087869603088, 0.8273458838280969, 0.8295890460808079, 0.8318382901633681, 0.8340936325652911,
  0.8363550898207981, 0.8386226785089391, 0.8408964152537144, 0.8431763167241966, 0.8454623996346523, 0.8477546807446661,
  0.8500531768592616, 0.8523579048290255, 0.8546688815502312, 0.8569861239649629, 0.8593096490612387, 0.8616394738731368,
  0.8639756154809185, 0.8663180910111553, 0.8686669176368529, 0.871022112577578, 0.8733836930995842, 0.8757516765159389, 0.8781260801866495,
  0.8805069215187917, 0.8828942179666361, 0.8852879870317771, 0.8876882462632604, 0.890095013257712, 0.8925083056594671, 0.8949281411607002,
  0.8973545375015533, 0.8997875124702672, 0.9022270839033115, 0.9046732696855155, 0.9071260877501991, 0.909585556079304, 0.9120516927035263,
  0.9145245157024483, 0.9170040432046711, 0.9194902933879467, 0.9219832844793128, 0.9244830347552253, 0.9269895625416926, 0.92950288621441,
  0.9320230241988943, 0.9345499949706191, 0.9370838170551498, 0.93962450902828, 0.9421720895161669, 0.9447265771954693, 0.9472879907934827,
  0.9498563490882775, 0.9524316709088368, 0.9550139751351947, 0.9576032806985735, 0.9601996065815236, 0.9628029718180622,
  0.9654133954938133, 0.9680308967461471, 0.9706554947643201, 0.9732872087896164, 0.9759260581154889, 0.9785720620876999,
  0.9812252401044634, 0.9838856116165875, 0.9865531961276168, 0.9892280131939752, 0.9919100824251095, 0.9945994234836328,
  0.9972960560854698,
]);

/**
 * The bounds of each schema from 0 to 8, by schema (schema 0's unused, as in
 * Go). The Go client builds schema s − 1's from every other bound of schema s,
 * so schema s's are every 2^(8−s)-th bound of schema 8.
 */
const BOUNDS_BY_SCHEMA: readonly (readonly number[])[] = Object.freeze(
  Array.from({ length: MAX_SCHEMA + 1 }, (_, schema) =>
    Object.freeze(SCHEMA_8_BOUNDS.filter((_, index) => index % 2 ** (MAX_SCHEMA - schema) === 0)),
  ),
);

/**
 * Go's `math.Frexp`: `value` = frac · 2^exp with |frac| in [0.5, 1), exactly
 * (subnormals included). 0, ±Infinity and NaN come back as they are, with an
 * exponent of 0.
 */
export function frexp(value: number): { frac: number; exp: number } {
  if (value === 0 || !Number.isFinite(value)) {
    return { frac: value, exp: 0 };
  }
  const magnitude = Math.abs(value);
  // log2 may be off by one next to a power of two: the loops below correct it.
  // The clamp keeps 2^(exp − 1) a finite, non-zero double.
  let exp = Math.min(1024, Math.max(-1073, Math.floor(Math.log2(magnitude)) + 1));
  // Two exact steps, since 2^exp itself overflows at exp = 1024.
  let frac = magnitude / 2 ** (exp - 1) / 2;
  while (frac >= 1) {
    frac /= 2;
    exp++;
  }
  while (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  return { frac: Math.sign(value) * frac, exp };
}

/** Go's `sort.SearchFloat64s`: the first index whose bound is at least `value`, or `bounds.length`. */
function searchBounds(bounds: readonly number[], value: number): number {
  let low = 0;
  let high = bounds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (bounds[middle] < value) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

/**
 * The index of the bucket of schema `schema` that holds |value|, computed as
 * the Go client computes it: from `math.Frexp`, by a search in its table of
 * bounds for schema > 0, by shifting the exponent for schema ≤ 0. ±Infinity
 * gets the index after the one of ±`Number.MAX_VALUE` (the Go client's
 * overflow bucket). NaN has no bucket.
 */
export function nativeBucketKey(value: number, schema: number): number {
  if (Number.isNaN(value)) {
    throw new RangeError('nestjs-llm-metrics: NaN has no native histogram bucket');
  }
  const isInfinite = !Number.isFinite(value);
  const { frac, exp } = frexp(isInfinite ? Number.MAX_VALUE : Math.abs(value));
  let key: number;
  if (schema > 0) {
    const bounds = BOUNDS_BY_SCHEMA[schema];
    key = searchBounds(bounds, frac) + (exp - 1) * bounds.length;
  } else {
    // A power of two (frac 0.5) is the upper bound of the bucket below.
    const powerOfTwoKey = frac === 0.5 ? exp - 1 : exp;
    // Rounding up the division by 2^−schema, as Go's arithmetic shift does.
    key = (powerOfTwoKey + (1 << -schema) - 1) >> -schema;
  }
  return isInfinite ? key + 1 : key;
}

/** The spans and deltas of `metrics.proto` for populated buckets, as Go's `makeBuckets` makes them. */
function encodeBuckets(buckets: ReadonlyMap<number, number>): { spans: BucketSpan[]; deltas: number[] } {
  const spans: { offset: number; length: number }[] = [];
  const deltas: number[] = [];
  let previousCount = 0;
  const appendBucket = (count: number) => {
    spans[spans.length - 1].length++;
    deltas.push(count - previousCount);
    previousCount = count;
  };
  let nextKey = 0;
  for (const key of [...buckets.keys()].sort((a, b) => a - b)) {
    const gap = key - nextKey;
    // Like Go, a gap of one or two empty buckets costs less as zero counts than as a new span.
    if (spans.length === 0 || gap > 2) {
      spans.push({ offset: gap, length: 0 });
    } else {
      for (let empty = 0; empty < gap; empty++) {
        appendBucket(0);
      }
    }
    appendBucket(buckets.get(key)!);
    nextKey = key + 1;
  }
  return { spans, deltas };
}

/** Adds `count` to the bucket `key` of `buckets`, creating it if need be. */
function addToBucket(buckets: Map<number, number>, key: number, count: number): void {
  buckets.set(key, (buckets.get(key) ?? 0) + count);
}

/**
 * Observations accumulated as a Prometheus native histogram, by the Go
 * client's rules:
 *
 * - NaN is counted and added to the sum (which becomes NaN) but put in no
 *   bucket; ±Infinity goes to the bucket after the largest finite one.
 * - When more buckets than `maxBuckets` are populated after an observation,
 *   the resolution is halved once (schema − 1, each pair of buckets merged
 *   into one, as Go's `doubleBucketWidth`), which each later observation
 *   repeats while the limit is still exceeded, down to schema −4 at most.
 *   Go's other two remedies, a reset after a minimum duration and widening the
 *   zero bucket, are left out: both are off by default in Go, and a reset
 *   would lose the counts the classic histogram beside this one keeps.
 */
export class NativeHistogram {
  private currentSchema: number;
  private readonly zeroThreshold: number;
  private readonly maxBuckets: number;
  private readonly positiveBuckets = new Map<number, number>();
  private readonly negativeBuckets = new Map<number, number>();
  private zeroCount = 0;
  private count = 0;
  private sum = 0;

  /**
   * @throws RangeError if the schema is not an integer from −4 to 8, the zero
   * threshold is not a finite number ≥ 0, or `maxBuckets` is not an integer ≥ 0.
   */
  constructor(options: NativeHistogramOptions = {}) {
    const {
      schema = DEFAULT_NATIVE_HISTOGRAM_SCHEMA,
      zeroThreshold = DEFAULT_NATIVE_HISTOGRAM_ZERO_THRESHOLD,
      maxBuckets = DEFAULT_NATIVE_HISTOGRAM_MAX_BUCKETS,
    } = options;
    if (!Number.isInteger(schema) || schema < MIN_SCHEMA || schema > MAX_SCHEMA) {
      throw new RangeError(
        `nestjs-llm-metrics: a native histogram schema is an integer from ${MIN_SCHEMA} to ${MAX_SCHEMA}, got ${describeValue(schema)}`,
      );
    }
    if (typeof zeroThreshold !== 'number' || !Number.isFinite(zeroThreshold) || zeroThreshold < 0) {
      throw new RangeError(
        `nestjs-llm-metrics: a native histogram zero threshold is a finite number ≥ 0, got ${describeValue(zeroThreshold)}`,
      );
    }
    if (!Number.isInteger(maxBuckets) || maxBuckets < 0) {
      throw new RangeError(`nestjs-llm-metrics: a native histogram's maxBuckets is an integer ≥ 0, got ${describeValue(maxBuckets)}`);
    }
    this.currentSchema = schema;
    this.zeroThreshold = zeroThreshold;
    this.maxBuckets = maxBuckets;
  }

  /** The current schema: the initial one, less one for each halving of the resolution. */
  get schema(): number {
    return this.currentSchema;
  }

  /** Adds `times` observations of `value` (default one). */
  observe(value: number, times = 1): void {
    this.count += times;
    this.sum += times === 1 ? value : value * times;
    if (Number.isNaN(value)) {
      return;
    }
    if (value > this.zeroThreshold) {
      addToBucket(this.positiveBuckets, nativeBucketKey(value, this.currentSchema), times);
    } else if (value < -this.zeroThreshold) {
      addToBucket(this.negativeBuckets, nativeBucketKey(value, this.currentSchema), times);
    } else {
      this.zeroCount += times;
    }
    if (this.maxBuckets > 0 && this.positiveBuckets.size + this.negativeBuckets.size > this.maxBuckets) {
      this.halveResolution();
    }
  }

  /**
   * The histogram as `metrics.proto` encodes it. Like the Go client, a
   * histogram with a zero threshold of 0 and nothing in any bucket gets a
   * no-op span (offset 0, length 0): without it, a scraper could not tell it
   * from a classic histogram. Prometheus 2.42 does not read that marker (it
   * looks for a zero threshold or zero count above 0, or bucket deltas), so
   * there, only the default threshold makes an empty histogram native.
   */
  snapshot(): NativeHistogramSnapshot {
    const positive = encodeBuckets(this.positiveBuckets);
    const negative = encodeBuckets(this.negativeBuckets);
    const looksClassic = this.zeroThreshold === 0 && this.zeroCount === 0 && positive.spans.length === 0 && negative.spans.length === 0;
    return {
      schema: this.currentSchema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      positiveSpans: looksClassic ? [{ offset: 0, length: 0 }] : positive.spans,
      positiveDeltas: positive.deltas,
      negativeSpans: negative.spans,
      negativeDeltas: negative.deltas,
    };
  }

  /** Go's `doubleBucketWidth`: schema − 1, bucket i merged into bucket ⌈i/2⌉. */
  private halveResolution(): void {
    if (this.currentSchema === MIN_SCHEMA) {
      return;
    }
    this.currentSchema--;
    for (const buckets of [this.positiveBuckets, this.negativeBuckets]) {
      const merged = new Map<number, number>();
      for (const [key, count] of buckets) {
        // Bucket i of the new schema covers buckets 2i − 1 and 2i of the old one.
        addToBucket(merged, (key + 1) >> 1, count);
      }
      buckets.clear();
      for (const [key, count] of merged) {
        buckets.set(key, count);
      }
    }
  }
}
