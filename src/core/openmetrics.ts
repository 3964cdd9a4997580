import type { Registry, RegistryContentType } from 'prom-client';
import { type LabelSet, escapeText, formatSampleValue, labelPairs } from './exposition-format.js';

/** A metric as `Registry.getMetricsAsJSON()` (or a metric's `get()`) gives it, with the fields its typings leave out. */
export interface MetricJson {
  name: string;
  help: string;
  /** `'counter'`, `'gauge'`, `'histogram'` or `'summary'` at run time (typed as an enum). */
  type: unknown;
  values: {
    value: number;
    labels: Record<string, string | number | undefined>;
    metricName?: string;
    exemplar?: { labelSet: Record<string, string | number>; value: number; timestamp: number } | null;
  }[];
}

function formatLabels(labels: LabelSet): string {
  const pairs = labelPairs(labels);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

/**
 * One metric as OpenMetrics 1.0 text, as prom-client renders a registry
 * created with the OpenMetrics content type (a counter named without
 * `_total`, its samples with it; exemplars), without the final `# EOF`.
 */
export function renderOpenMetricsFamily(metric: MetricJson): string {
  const isCounter = String(metric.type) === 'counter';
  const name = isCounter ? metric.name.replace(/_total$/, '') : metric.name;
  const lines = [`# HELP ${name} ${escapeText(metric.help)}`, `# TYPE ${name} ${String(metric.type)}`];
  for (const { value, labels, metricName = name, exemplar } of metric.values) {
    let line = `${isCounter ? `${metricName}_total` : metricName}${formatLabels(labels)} ${formatSampleValue(value)}`;
    if (exemplar) {
      line += ` # ${formatLabels(exemplar.labelSet) || '{}'} ${formatSampleValue(exemplar.value)} ${exemplar.timestamp}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/**
 * Renders `registry` as OpenMetrics 1.0 text from its public
 * `getMetricsAsJSON()` (see `renderOpenMetricsFamily`), ending in `# EOF`.
 * prom-client renders a registry in its own format only, and renames
 * counters for good when it renders OpenMetrics, so a classic registry is
 * not switched to render this.
 */
export async function renderOpenMetrics(registry: Registry<RegistryContentType>): Promise<string> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  return `${metrics.map(renderOpenMetricsFamily).join('\n')}\n# EOF\n`;
}
