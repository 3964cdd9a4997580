import type { Registry, RegistryContentType } from 'prom-client';
import type { LlmMetricsService } from '../recording/llm-metrics.service.js';
import type { MetricStore } from '../store/metric-store.js';
import { type ExpositionBuffers, ExpositionWriter } from './exposition-writer.js';
import { renderOpenMetricsFamily } from './openmetrics.js';
import type { MetricJson } from './prom-client-view.js';
import { ProtobufExpositionWriter } from './protobuf-writer.js';
import { familyFromJson, renderFamiliesProtobuf } from './protobuf-renderer.js';
import { RenderSlices } from './render-slices.js';
import { type LabelSet, type TextFormat, defaultLabelsOf, withDefaultLabels } from './text-format.js';
import { renderFamilies } from './text-renderer.js';

/** How `renderRegistry` and `renderRegistryProtobuf` render. */
export interface RenderRegistryOptions {
  /** The registry's default labels (`setDefaultLabels`), which prom-client does not tell: the service's series get them too. */
  defaultLabels?: Readonly<Record<string, string>>;
}

/** How the metrics route renders: the buffers it reuses, and the slices it cuts the work into. */
export interface RenderMechanism extends RenderRegistryOptions {
  /** How the render is cut into slices between which the event loop runs (default: of about 0.5 ms each); tells the longest slice afterwards. */
  slices?: RenderSlices;
  /** Where to take the buffers from: give them back (`giveBack`) once the exposition has been sent, and the next render reuses them. */
  buffers?: ExpositionBuffers;
  /**
   * Sends the buffers filled so far, between two slices of a text render
   * (of the default slices, not of `slices`), while the rest is rendered; a
   * promise it returns (the client's connection is full) is waited for
   * before the next slice. The render then returns only what is left to send.
   */
  send?: (filled: Buffer[]) => Promise<void> | undefined;
}

/** `metric`'s samples with the default labels they lack added last, as `getMetricsAsJSON()` adds them. */
function withDefaults(metric: MetricJson, defaults: LabelSet | undefined): MetricJson {
  return defaults
    ? { ...metric, values: metric.values.map((value) => ({ ...value, labels: withDefaultLabels(value.labels, defaults) })) }
    : metric;
}

/** The registry's metrics that are not the store's, as `get()` gives them, in the registry's order. */
async function* otherMetrics(
  registry: Registry<RegistryContentType>,
  store: MetricStore,
): AsyncGenerator<{ name: string; json: () => Promise<MetricJson> }> {
  const ours = new Set(store.families.map(({ name }) => name));
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (!ours.has(name) && metric !== undefined) {
      yield { name, json: async () => (await metric.get()) as unknown as MetricJson };
    }
  }
}

/** The registry's other metrics, each rendered in `format` as prom-client renders it. */
async function renderOtherMetrics(
  registry: Registry<RegistryContentType>,
  store: MetricStore,
  format: TextFormat,
  defaults: LabelSet | undefined,
): Promise<string[]> {
  const texts: string[] = [];
  for await (const { name, json } of otherMetrics(registry, store)) {
    texts.push(
      format === 'openmetrics'
        ? renderOpenMetricsFamily(withDefaults(await json(), defaults))
        : await registry.getSingleMetricAsString(name),
    );
  }
  return texts;
}

/** `renderRegistry` with the route's mechanism: reused buffers, the slices of the work, and sending while rendering. */
export async function renderStoreAndRegistry(
  registry: Registry<RegistryContentType>,
  store: MetricStore,
  format: TextFormat,
  options: RenderMechanism = {},
): Promise<Buffer[]> {
  const defaults = defaultLabelsOf(options.defaultLabels);
  // Before any byte is sent: a metric whose collection fails fails the scrape whole.
  const others = await renderOtherMetrics(registry, store, format, defaults);
  const writer = new ExpositionWriter(options.buffers);
  const send = options.send;
  const slices =
    options.slices ??
    new RenderSlices(
      undefined,
      send &&
        (() => {
          const filled = writer.takeFilled();
          return filled.length > 0 ? send(filled) : undefined;
        }),
    );
  await renderFamilies(writer, store.read(), format, defaults, slices);
  for (const text of others) {
    writer.text(format === 'openmetrics' || writer.empty ? `${text}\n` : `\n${text}\n`);
  }
  if (format === 'openmetrics') {
    writer.text('# EOF\n');
  }
  const chunks = writer.finish();
  slices.end();
  return chunks;
}

/** `renderRegistryProtobuf` with the route's mechanism: reused buffers, and the slices of the work. */
export async function renderStoreAndRegistryProtobuf(
  registry: Registry<RegistryContentType>,
  store: MetricStore,
  options: RenderMechanism = {},
): Promise<Buffer[]> {
  const defaults = defaultLabelsOf(options.defaultLabels);
  const writer = new ProtobufExpositionWriter(options.buffers);
  const slices = options.slices ?? new RenderSlices();
  await renderFamiliesProtobuf(writer, store.read(), defaults, slices);
  for await (const { json } of otherMetrics(registry, store)) {
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

/**
 * Renders `registry` in `format` (the classic text format or OpenMetrics),
 * as buffers to send one after the other, byte for byte what
 * `registry.metrics()` renders: the metrics of `metrics` first, rendered from
 * its series by this library (labels rendered once per series, values written
 * in place, the work cut into slices between which the event loop runs),
 * then the registry's other metrics as prom-client renders them.
 */
export function renderRegistry(
  registry: Registry<RegistryContentType>,
  metrics: LlmMetricsService,
  format: TextFormat,
  options: RenderRegistryOptions = {},
): Promise<Buffer[]> {
  return renderStoreAndRegistry(registry, metrics.store, format, { defaultLabels: options.defaultLabels });
}

/**
 * Renders `registry` in the delimited protobuf format (what Prometheus asks
 * for with native histograms on), as buffers to send one after the other:
 * the metrics of `metrics` first, from its series (native buckets beside the
 * classic ones where it keeps them), in slices; then the registry's other
 * metrics, from their `get()`.
 */
export function renderRegistryProtobuf(
  registry: Registry<RegistryContentType>,
  metrics: LlmMetricsService,
  options: RenderRegistryOptions = {},
): Promise<Buffer[]> {
  return renderStoreAndRegistryProtobuf(registry, metrics.store, { defaultLabels: options.defaultLabels });
}
