import { Registry } from 'prom-client';

/** The exposition formats a metrics route can answer in. */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/** The content type of the protobuf exposition format, as Prometheus asks for it. */
export const PROTOBUF_EXPOSITION_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** The format a media range of an `Accept` header names, and its quality. */
function mediaRange(range: string): { format: ExpositionFormat | undefined; quality: number } {
  const [mediaType, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
  const param = (name: string) => params.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
  const q = Number(param('q') ?? 1);
  const quality = Number.isFinite(q) ? q : 0;
  if (mediaType === 'application/openmetrics-text') {
    return { format: 'openmetrics', quality };
  }
  if (mediaType === 'application/vnd.google.protobuf') {
    return {
      format: param('proto') === 'io.prometheus.client.metricfamily' && param('encoding') === 'delimited' ? 'protobuf' : undefined,
      quality,
    };
  }
  return { format: ['text/plain', 'text/*', '*/*'].includes(mediaType) ? 'text' : undefined, quality };
}

/**
 * The format to answer a scraper's `Accept` header with: OpenMetrics when it
 * asks for it (without `q=0`), as Prometheus does; the delimited protobuf
 * format when it asks for that (Prometheus run with native histograms) at a
 * quality no lower than the other formats'; the classic text format otherwise.
 */
export function expositionFormatFor(accept: string | string[] | undefined): ExpositionFormat {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  let best = { format: 'text' as ExpositionFormat, quality: 0 };
  let openMetrics = false;
  for (const range of header.split(',')) {
    const { format, quality } = mediaRange(range);
    if (format !== undefined && quality > 0) {
      openMetrics ||= format === 'openmetrics';
      if (quality > best.quality || (quality === best.quality && format === 'protobuf')) {
        best = { format, quality };
      }
    }
  }
  return best.format === 'protobuf' ? 'protobuf' : openMetrics ? 'openmetrics' : 'text';
}

/** The content type of an answer in `format` (a registry of OpenMetrics answers OpenMetrics to text scrapers too, as prom-client renders it). */
export function contentTypeFor(format: ExpositionFormat, registryContentType: string): string {
  return format === 'protobuf'
    ? PROTOBUF_EXPOSITION_CONTENT_TYPE
    : format === 'openmetrics'
      ? Registry.OPENMETRICS_CONTENT_TYPE
      : registryContentType;
}
