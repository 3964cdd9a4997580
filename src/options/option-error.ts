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
