/** Statistics of one variant over the rounds. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * Measures each variant in interleaved rounds, rotating their order every
 * round so that none always runs first (warm) or last (after the others'
 * garbage). `measure` returns one figure per call (e.g. µs per request).
 */
export async function interleavedRounds<K extends string>(
  variants: readonly K[],
  rounds: number,
  measure: (variant: K) => Promise<number>,
): Promise<Record<K, Summary & { samples: number[] }>> {
  const samples = Object.fromEntries(variants.map((variant) => [variant, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length];
      samples[variant].push(await measure(variant));
    }
  }
  return Object.fromEntries(variants.map((variant) => [variant, { ...summarize(samples[variant]), samples: samples[variant] }])) as Record<
    K,
    Summary & { samples: number[] }
  >;
}

export function fmt(value: number, digits = 2): string {
  return value.toFixed(digits);
}

/** `median [min–max]` of a summary. */
export function spread(summary: Summary, digits = 2): string {
  return `${fmt(summary.median, digits)} [${fmt(summary.min, digits)}–${fmt(summary.max, digits)}]`;
}

/** The ratio of medians, and the range of per-round ratios (rounds paired in order). */
export function ratio(numerator: number[], denominator: number[]): Summary {
  return summarize(numerator.map((value, i) => value / denominator[i]));
}

/**
 * Prints a ratio two ways: of the two variants' medians, and per round (the
 * rounds are interleaved, so each round's ratio compares the variants under
 * the same load of the shared machine): that median, and its min–max.
 */
export function ratioLine(label: string, numerator: number[], denominator: number[], target: string): void {
  const ofMedians = summarize(numerator).median / summarize(denominator).median;
  const perRound = ratio(numerator, denominator);
  line(
    `- ${label}: ${fmt(ofMedians, 3)} (per round: median ${fmt(perRound.median, 3)}, ${fmt(perRound.min, 3)}–${fmt(perRound.max, 3)}) target ${target}`,
  );
}

export function heading(title: string): void {
  process.stdout.write(`\n## ${title}\n\n`);
}

export function line(text: string): void {
  process.stdout.write(`${text}\n`);
}
