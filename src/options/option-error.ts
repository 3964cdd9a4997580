/** Whether an option's value is a plain object (not `null`, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a bad configuration value is shown in an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'function') {
    return 'a function';
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol') {
    return String(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => describeValue(item)).join(', ')}]`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The error of a bad option: `option "<option>" must be <expected>, got <value>`. */
export function invalidOption(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`nestjs-llm-metrics: option "${option}" must be ${expected}, got ${describeValue(value)}`);
}

/** The number of single-character edits from `a` to `b`, two neighbours swapped counting as one (the optimal string alignment distance), letters compared case-insensitively. */
function editDistance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  const rows = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[x.length][y.length];
}

/** The name of `known` nearest to `name`, if one is near enough to be what was meant (a third of its letters or fewer differ). */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (best === undefined || distance < best.distance) {
      best = { name: candidate, distance };
    }
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/**
 * Refuses a key of `value` that is not one of `known`: a typo would otherwise
 * be ignored, the option it meant left at its default.
 * @param option where `value` is (`labels.tenant`), or none for the options themselves.
 * @throws TypeError naming the key and the nearest valid name.
 */
export function assertKnownKeys(option: string | undefined, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const name = option === undefined ? key : `${option}.${key}`;
      const nearest = nearestName(key, known);
      throw new TypeError(
        `nestjs-llm-metrics: unknown option "${name}"` +
          (nearest === undefined
            ? `; the options${option === undefined ? '' : ` of "${option}"`} are ${known.join(', ')}`
            : `: did you mean "${nearest}"?`),
      );
    }
  }
}
