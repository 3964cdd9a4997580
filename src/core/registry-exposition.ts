import type { Registry, RegistryContentType } from 'prom-client';
import { type ExpositionBuffers, ExpositionWriter, type LabelSet, type TextFormat } from './exposition-format.js';
import type { LlmMetricsService } from './llm-metrics.service.js';
import { RenderSlices } from './series-exposition.js';
import { type MetricJson, renderOpenMetricsFamily } from './openmetrics.js';

/** How `renderRegistry` renders. */
export interface RenderRegistryOptions {
  /** The registry's default labels (`setDefaultLabels`), which prom-client does not tell: the service's series get them too. */
  defaultLabels?: Readonly<Record<string, string>>;
  /** How the render is cut into slices between which the event loop runs (default: of about 1 ms each); tells the longest slice afterwards. */
  slices?: RenderSlices;
  /** Where to take the buffers from: give them back (`giveBack`) once the exposition has been sent, and the next render reuses them. */
  buffers?: ExpositionBuffers;
}

/** `metric`'s samples with the default labels they lack added last, as `getMetricsAsJSON()` adds them. */
function withDefaultLabels(metric: MetricJson, defaults: LabelSet | undefined): MetricJson {
  if (!defaults) {
    return metric;
  }
  return {
    ...metric,
    values: metric.values.map((value) => {
      const labels = { ...value.labels };
      for (const [name, label] of Object.entries(defaults)) {
        labels[name] = labels[name] || label;
      }
      return { ...value, labels };
    }),
  };
}

/**
 * Renders `registry` in `format`, as buffers to send one after the other:
 * the metrics of `service` first, rendered by the service itself (labels
 * rendered once per series, values written in place, the work cut into
 * slices between which the event loop runs), then the registry's other
 * metrics as prom-client renders them (OpenMetrics: from their `get()`).
 */
export async function renderRegistry(
  registry: Registry<RegistryContentType>,
  service: LlmMetricsService,
  format: TextFormat,
  options: RenderRegistryOptions = {},
): Promise<Buffer[]> {
  const defaults = options.defaultLabels && Object.keys(options.defaultLabels).length > 0 ? options.defaultLabels : undefined;
  const writer = new ExpositionWriter(options.buffers);
  const ours = new Set(service.metricNames);
  const slices = options.slices ?? new RenderSlices();
  await service.render(writer, format, { defaultLabels: defaults, slices });
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (ours.has(name) || metric === undefined) {
      continue;
    }
    if (format === 'openmetrics') {
      writer.text(`${renderOpenMetricsFamily(withDefaultLabels((await metric.get()) as unknown as MetricJson, defaults))}\n`);
    } else {
      writer.text(`${writer.empty ? '' : '\n'}${await registry.getSingleMetricAsString(name)}\n`);
    }
  }
  if (format === 'openmetrics') {
    writer.text('# EOF\n');
  }
  const chunks = writer.finish();
  slices.end();
  return chunks;
}
