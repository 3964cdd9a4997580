import type { Registry, RegistryContentType } from 'prom-client';

/** A metric as `Registry.getMetricsAsJSON()` gives it, with the fields its typings leave out. */
interface MetricJson {
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

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatLabels(labels: Record<string, string | number | undefined>): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    pairs.push(`${name}="${typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value}"`);
  }
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) {
    return 'Nan';
  }
  if (!Number.isFinite(value)) {
    return value < 0 ? '-Inf' : '+Inf';
  }
  return `${value}`;
}

/**
 * Renders `registry` as OpenMetrics 1.0 text, as prom-client renders a
 * registry created with the OpenMetrics content type (counters named without
 * `_total`, their samples with it; exemplars; `# EOF`), from its public
 * `getMetricsAsJSON()`. prom-client renders a registry in its own format
 * only, and renames counters for good when it renders OpenMetrics, so a
 * classic registry is not switched to render this.
 */
export async function renderOpenMetrics(registry: Registry<RegistryContentType>): Promise<string> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const blocks = metrics.map((metric) => {
    const isCounter = String(metric.type) === 'counter';
    const name = isCounter ? metric.name.replace(/_total$/, '') : metric.name;
    const lines = [`# HELP ${name} ${escapeText(metric.help)}`, `# TYPE ${name} ${String(metric.type)}`];
    for (const { value, labels, metricName = name, exemplar } of metric.values) {
      let line = `${isCounter ? `${metricName}_total` : metricName}${formatLabels(labels)} ${formatValue(value)}`;
      if (exemplar) {
        line += ` # ${formatLabels(exemplar.labelSet) || '{}'} ${formatValue(exemplar.value)} ${exemplar.timestamp}`;
      }
      lines.push(line);
    }
    return lines.join('\n');
  });
  return `${blocks.join('\n')}\n# EOF\n`;
}
