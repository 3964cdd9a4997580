/*
 * The rules of the Prometheus text format 0.0.4 and of OpenMetrics 1.0 text
 * as prom-client writes them (escaping, label order, spelling of values,
 * counter names, exemplars), each written once, so that what this library
 * renders itself reads byte for byte as prom-client's rendering of the same data.
 */

/** The two text formats: Prometheus' classic one, and OpenMetrics. */
export type TextFormat = 'text' | 'openmetrics';

/** Label values as prom-client keeps them: strings, or numbers (a bucket's `le`). */
export type LabelSet = Readonly<Record<string, string | number | undefined>>;

/** A HELP text or metric name, escaped: backslashes and line feeds. */
export function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value, escaped: backslashes, line feeds and double quotes (numbers as they are). */
export function escapeLabelValue(value: string | number | undefined): string {
  return typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : `${value}`;
}

/** A sample value: `Nan`, `+Inf` and `-Inf` spelt as prom-client spells them. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) {
    return 'Nan';
  }
  if (!Number.isFinite(value)) {
    return value < 0 ? '-Inf' : '+Inf';
  }
  return `${value}`;
}

/**
 * The labels of a sample as prom-client's registry writes them, without the
 * braces: `name="value"` for each of its own labels, in their order, then
 * for each default label it lacks.
 */
export function labelPairs(labels: LabelSet, defaults?: LabelSet): string {
  let pairs = '';
  for (const name of Object.keys(labels)) {
    pairs += `${pairs ? ',' : ''}${name}="${escapeLabelValue(labels[name])}"`;
  }
  if (defaults) {
    for (const name of Object.keys(defaults)) {
      if (!Object.hasOwn(labels, name)) {
        pairs += `${pairs ? ',' : ''}${name}="${escapeLabelValue(defaults[name])}"`;
      }
    }
  }
  return pairs;
}

/** The name of a counter's family in OpenMetrics: without its `_total`, which its samples carry. */
export function counterFamilyName(name: string): string {
  return name.replace(/_total$/, '');
}

/** The name of a family's samples (a histogram's before its suffixes): an OpenMetrics counter's end in `_total`. */
export function sampleName(name: string, type: string, format: TextFormat): string {
  return format === 'openmetrics' && type === 'counter' ? `${counterFamilyName(name)}_total` : name;
}

/** The `# HELP` and `# TYPE` lines of a family, each ending in a line feed; OpenMetrics names a counter without its `_total`. */
export function familyHeader(name: string, help: string, type: string, format: TextFormat): string {
  const familyName = escapeText(format === 'openmetrics' && type === 'counter' ? counterFamilyName(name) : name);
  return `# HELP ${familyName} ${escapeText(help)}\n# TYPE ${familyName} ${type}\n`;
}

/** An OpenMetrics exemplar as prom-client keeps it: labels, value, and a timestamp in seconds. */
export interface ExemplarText {
  readonly labelSet: LabelSet;
  readonly value: number;
  readonly timestamp: number;
}

/** ` # {labels} value timestamp`: an exemplar after its sample, in OpenMetrics. */
export function renderExemplar({ labelSet, value, timestamp }: ExemplarText): string {
  return ` # {${labelPairs(labelSet)}} ${formatSampleValue(value)} ${timestamp}`;
}

/** `labels` with every value a string, `without` one of them. */
export function stringLabels(labels: LabelSet, without?: string): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (name !== without && value !== undefined) {
      strings[name] = String(value);
    }
  }
  return strings;
}

/** Default labels as the renderers take them: none when there are none. */
export function defaultLabelsOf<T extends LabelSet>(labels: T | undefined): T | undefined {
  return labels && Object.keys(labels).length > 0 ? labels : undefined;
}

/** `labels` with the `defaults` they lack (or have empty) added last, as prom-client's `getMetricsAsJSON()` adds a registry's default labels. */
export function withDefaultLabels<T extends LabelSet>(labels: T, defaults: LabelSet | undefined): T {
  if (!defaults) {
    return labels;
  }
  const merged: Record<string, string | number | undefined> = { ...labels };
  for (const [name, value] of Object.entries(defaults)) {
    merged[name] = merged[name] || value;
  }
  return merged as T;
}
