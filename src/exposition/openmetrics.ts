import type { Registry, RegistryContentType } from 'prom-client';
import type { MetricJson } from './prom-client-view.js';
import { familyHeader, formatSampleValue, labelPairs, renderExemplar, sampleName } from './text-format.js';

/**
 * One metric as OpenMetrics 1.0 text, as prom-client renders a registry
 * created with the OpenMetrics content type (a counter named without
 * `_total`, its samples with it; exemplars), without the final `# EOF`.
 */
export function renderOpenMetricsFamily(metric: MetricJson): string {
  const type = String(metric.type);
  const name = sampleName(metric.name, type, 'openmetrics');
  let text = familyHeader(metric.name, metric.help, type, 'openmetrics');
  for (const { value, labels, metricName = name, exemplar } of metric.values) {
    const pairs = labelPairs(labels);
    text += `${type === 'counter' ? sampleName(metricName, type, 'openmetrics') : metricName}${pairs ? `{${pairs}}` : ''} ${formatSampleValue(value)}`;
    if (exemplar) {
      text += renderExemplar(exemplar);
    }
    text += '\n';
  }
  return text.slice(0, -1);
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
