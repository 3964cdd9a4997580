import type { SloTargets } from '../../src/index.js';

/** A model of the sample that meets every objective of {@link EASY_TARGETS}. */
export const EASY = 'mock-easy';
/** A model of the sample that misses every objective of {@link HARD_TARGETS}. */
export const HARD = 'mock-hard';

/**
 * Far above what the mock engine takes (ms a token, 16 tokens), with a margin
 * of 10× and more, and none a bound of the schema's buckets: no timing of the
 * machine decides an outcome.
 */
export const EASY_TARGETS: SloTargets = { timeToFirstToken: 9.5, timePerOutputToken: 0.75, duration: 45 };
/** Far below what the engine takes: 1.5 ms for each objective. */
export const HARD_TARGETS: SloTargets = { timeToFirstToken: 0.0015, timePerOutputToken: 0.0015, duration: 0.0015 };
