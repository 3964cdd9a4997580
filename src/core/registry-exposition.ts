import type { Registry, RegistryContentType } from 'prom-client';
import {
  type ExpositionBuffers,
  ExpositionWriter,
  type LabelSet,
  type TextFormat,
  defaultLabelsOf,
  withDefaultLabels,
} from './exposition-format.js';
import type { LlmMetricsService } from './llm-metrics.service.js';
import { type MetricJson, renderOpenMetricsFamily } from './openmetrics.js';
import { ProtobufExpositionWriter, familyFromJson } from './protobuf-exposition.js';
import { RenderSlices } from './series-exposition.js';

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
function withDefaults(metric: MetricJson, defaults: LabelSet | undefined): MetricJson {
  return defaults
    ? { ...metric, values: metric.values.map((value) => ({ ...value, labels: withDefaultLabels(value.labels, defaults) })) }
    : metric;
}

/** The registry's metrics that are not `service`'s, as `get()` gives them, in the registry's order. */
async function* otherMetrics(
  registry: Registry<RegistryContentType>,
  service: LlmMetricsService,
): AsyncGenerator<{ name: string; json: () => Promise<MetricJson> }> {
  const ours = new Set(service.metricNames);
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (!ours.has(name) && metric !== undefined) {
      yield { name, json: async () => (await metric.get()) as unknown as MetricJson };
    }
  }
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
  const defaults = defaultLabelsOf(options.defaultLabels);
  const writer = new ExpositionWriter(options.buffers);
  const slices = options.slices ?? new RenderSlices();
  await service.render(writer, format, { defaultLabels: defaults, slices });
  for await (const { name, json } of otherMetrics(registry, service)) {
    if (format === 'openmetrics') {
      writer.text(`${renderOpenMetricsFamily(withDefaults(await json(), defaults))}\n`);
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

/**
 * Renders `registry` in the delimited protobuf format, as buffers to send
 * one after the other: the metrics of
 * `service` first, from its own series (native buckets beside the classic
 * ones where it keeps them), one metric at a time in slices between which
 * the event loop runs; then the registry's other metrics, from their `get()`.
 */
export async function renderRegistryProtobuf(
  registry: Registry<RegistryContentType>,
  service: LlmMetricsService,
  options: RenderRegistryOptions = {},
): Promise<Buffer[]> {
  const defaults = defaultLabelsOf(options.defaultLabels);
  const writer = new ProtobufExpositionWriter(options.buffers);
  const slices = options.slices ?? new RenderSlices();
  await service.renderProtobuf(writer, { defaultLabels: defaults, slices });
  for await (const { json } of otherMetrics(registry, service)) {
    const family = familyFromJson(withDefaults(await json(), defaults), () => undefined);
    writer.family(family.name, family.help, family.type);
    for (const metric of family.metrics) {
      writer.metric(metric);
    }
    await writer.endFamily(slices);
  }
  const chunks = writer.finish();
  slices.end();
  return chunks;
}
