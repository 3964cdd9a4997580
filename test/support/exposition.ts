/** One sample line of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// `s`: a label value may hold a raw carriage return, U+2028 or U+2029.
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/s;

function unescapeLabelValue(raw: string): string {
  return raw.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
}

function parseLabels(raw: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!raw) {
    return labels;
  }
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gsy;
  let match: RegExpExecArray | null;
  while ((match = pair.exec(raw)) !== null) {
    labels[match[1]] = unescapeLabelValue(match[2]);
  }
  if (pair.lastIndex !== raw.length && pair.lastIndex !== 0) {
    throw new Error(`unparsed labels: ${raw}`);
  }
  return labels;
}

/** Parses the sample lines of a text exposition (comments and blank lines skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) {
      throw new Error(`not a sample line: ${line}`);
    }
    samples.push({ name: match[1], labels: parseLabels(match[2]), value: Number(match[3]) });
  }
  return samples;
}

/** The samples named `name` whose labels include all of `labels`. */
export function samplesOf(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return parseExposition(text).filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The samples named `name` with exactly these labels (besides `le`). */
function exactly(text: string, name: string, labels: Record<string, string>): Sample[] {
  return parseExposition(text).filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/**
 * The value of the one sample named `name` with exactly these labels.
 * @throws if there is none (a renamed metric or label must fail the test) or several.
 */
export function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const matches = exactly(text, name, labels);
  if (matches.length !== 1) {
    const names = [...new Set(parseExposition(text).map((sample) => sample.name))].join(', ');
    throw new Error(`${matches.length} samples of ${name} with exactly ${JSON.stringify(labels)}; the exposition has: ${names}`);
  }
  return matches[0].value;
}

/** `valueOf`, or 0 where the series is not there yet: for a count taken before the traffic (the count after it uses `valueOf`). */
export function valueBefore(text: string, name: string, labels: Record<string, string> = {}): number {
  return hasSample(text, name, labels) ? valueOf(text, name, labels) : 0;
}

/** Whether a sample named `name` with exactly these labels is in the exposition: for asserting that one is absent. */
export function hasSample(text: string, name: string, labels: Record<string, string> = {}): boolean {
  return exactly(text, name, labels).length > 0;
}

/** Sum of the values of the samples named `name` whose labels include `labels`. */
export function sumOf(text: string, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(text, name, labels).reduce((sum, sample) => sum + sample.value, 0);
}

/** An exemplar of an OpenMetrics sample line: `<sample> # {<labels>} <value> <timestamp>`. */
export interface Exemplar {
  name: string;
  labels: Record<string, string>;
  exemplarLabels: Record<string, string>;
  value: number;
  timestamp: number;
}

const EXEMPLAR_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? \S+ # \{(.*)\} (\S+) (\S+)$/;

/** The exemplars of an OpenMetrics exposition, with the samples they are on. */
export function exemplarsOf(text: string): Exemplar[] {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#') && line.includes(' # '))
    .map((line) => {
      const match = EXEMPLAR_LINE.exec(line);
      if (!match) {
        throw new Error(`not a sample line with an exemplar: ${line}`);
      }
      return {
        name: match[1],
        labels: parseLabels(match[2]),
        exemplarLabels: parseLabels(match[3]),
        value: Number(match[4]),
        timestamp: Number(match[5]),
      };
    });
}

/** The text without the exemplars of its sample lines. */
export function withoutExemplars(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('#') ? line : line.replace(/ # \{.*$/, '')))
    .join('\n');
}
