import { Registry, type RegistryContentType } from 'prom-client';

/** The content types the metrics route can answer with. */
export const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_TEXT = Registry.OPENMETRICS_CONTENT_TYPE;

/**
 * The exposition format a scraper asks for: OpenMetrics when its `Accept`
 * header names `application/openmetrics-text` (without `q=0`), the classic
 * text format otherwise.
 */
export function negotiateContentType(accept: string | string[] | undefined): RegistryContentType {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  for (const range of header.split(',')) {
    const [mediaType, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    if (mediaType === 'application/openmetrics-text' && !params.some((param) => /^q=0(\.0*)?$/.test(param))) {
      return OPENMETRICS_TEXT;
    }
  }
  return PROMETHEUS_TEXT;
}

/** Renders of one registry run one at a time: rendering in the other format switches the registry for a moment. */
const pendingRenders = new WeakMap<Registry<RegistryContentType>, Promise<unknown>>();

/**
 * Renders `registry` in `contentType`. A classic registry can also be
 * rendered as OpenMetrics: prom-client renders a registry in its own format
 * only, and strips `_total` from counter names while it renders OpenMetrics,
 * so the registry is switched, rendered, and the names restored. An
 * OpenMetrics registry always renders OpenMetrics.
 */
export function renderExposition(
  registry: Registry<RegistryContentType>,
  contentType: RegistryContentType,
): Promise<{ contentType: RegistryContentType; body: string }> {
  const previous = pendingRenders.get(registry) ?? Promise.resolve();
  const render = previous.then(() => renderIn(registry, contentType));
  pendingRenders.set(
    registry,
    render.catch(() => undefined),
  );
  return render;
}

async function renderIn(
  registry: Registry<RegistryContentType>,
  contentType: RegistryContentType,
): Promise<{ contentType: RegistryContentType; body: string }> {
  const own = registry.contentType;
  if (own === contentType || own === OPENMETRICS_TEXT) {
    return { contentType: own, body: await registry.metrics() };
  }
  const counterNames = registry
    .getMetricsAsArray()
    .filter((metric) => (metric.type as unknown as string) === 'counter')
    .map((metric) => [metric, metric.name] as const);
  registry.setContentType(contentType);
  try {
    return { contentType, body: await registry.metrics() };
  } finally {
    registry.setContentType(own);
    for (const [metric, name] of counterNames) {
      (metric as { name: string }).name = name;
    }
  }
}
