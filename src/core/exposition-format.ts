/*
 * The pieces of the Prometheus text format 0.0.4 and of OpenMetrics 1.0 text,
 * written as prom-client writes them, so that what this library renders
 * itself reads byte for byte as prom-client's rendering of the same data.
 */

/** The two text formats: Prometheus' classic one, and OpenMetrics. */
export type TextFormat = 'text' | 'openmetrics';

/** The exposition formats a metrics route can answer in. */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

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

/** `name="value"` for each label of `labels` not in `exclude`, in their order. */
export function labelPairs(labels: LabelSet, exclude?: LabelSet): string[] {
  const pairs: string[] = [];
  for (const name of Object.keys(labels)) {
    if (!exclude || !Object.hasOwn(exclude, name)) {
      pairs.push(`${name}="${escapeLabelValue(labels[name])}"`);
    }
  }
  return pairs;
}

/**
 * The `{…}` of a sample as prom-client's registry writes it: the sample's
 * own labels (a bucket's `le`), the registry's default labels it lacks, then
 * the labels of its series (`shared`); nothing if there are none.
 */
export function renderLabels(own: LabelSet, defaults: LabelSet | undefined, shared: LabelSet = {}): string {
  const labels = defaults ? { ...own, ...defaults, ...own } : own;
  const pairs = [...labelPairs(labels, shared), ...labelPairs(shared)];
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
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
export function defaultLabelsOf(labels: LabelSet | undefined): LabelSet | undefined {
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

/** An OpenMetrics exemplar as prom-client keeps it: labels, value, and a timestamp in seconds. */
export interface StoredExemplar {
  readonly labelSet: LabelSet;
  readonly value: number;
  readonly timestamp: number;
}

/** ` # {labels} value timestamp`: an exemplar after its sample, in OpenMetrics. */
export function renderExemplar({ labelSet, value, timestamp }: StoredExemplar): string {
  return ` # {${labelPairs(labelSet).join(',')}} ${formatSampleValue(value)} ${timestamp}`;
}

/** The `# HELP` and `# TYPE` lines of a family; OpenMetrics names a counter without its `_total`. */
export function familyHeader(name: string, help: string, type: string, format: TextFormat): string {
  const familyName = format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
  return `# HELP ${escapeText(familyName)} ${escapeText(help)}\n# TYPE ${escapeText(familyName)} ${type}`;
}

/** Bytes of the ASCII digits, and of a line feed. */
const ZERO = 0x30;
const LINE_FEED = 0x0a;
/** Size of each buffer an exposition is written into. */
const CHUNK_SIZE = 256 * 1024;

/**
 * The buffers expositions are written into, kept for the next render once
 * a render's have been sent (`giveBack`): a large exposition is then written
 * into the memory of the last one, instead of new memory for the garbage
 * collector to reclaim, every scrape. It keeps as many as the largest
 * exposition given back needed.
 */
export class ExpositionBuffers {
  private readonly free: Buffer[] = [];

  /** A buffer to write into. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(CHUNK_SIZE);
  }

  /** Takes back the buffers of an exposition that has been sent: none of them may be read or written after. */
  giveBack(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) {
      // Each chunk is the start of a buffer of its own (a buffer this large is never a slice of Node.js's pool).
      if (chunk.byteOffset === 0 && chunk.buffer.byteLength === CHUNK_SIZE) {
        this.free.push(Buffer.from(chunk.buffer, 0, CHUNK_SIZE));
      }
    }
  }
}

/**
 * Writes an exposition into a series of buffers: bytes copied as they are
 * (a series' label set, encoded once), values formatted in place. No string
 * of the whole exposition is ever built.
 */
export class ExpositionWriter {
  private readonly chunks: Buffer[] = [];
  private buffer: Buffer;
  private offset = 0;
  private written = 0;

  constructor(private readonly buffers: ExpositionBuffers = new ExpositionBuffers()) {
    this.buffer = buffers.take();
  }

  /** Whether nothing was written yet. */
  get empty(): boolean {
    return this.written === 0 && this.offset === 0;
  }

  /** Writes `bytes` (e.g. a prefix encoded once). */
  bytes(bytes: Uint8Array): void {
    if (bytes.length > this.buffer.length - this.offset) {
      this.nextChunk();
      if (bytes.length > this.buffer.length) {
        this.chunks.push(Buffer.from(bytes));
        this.written += bytes.length;
        return;
      }
    }
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  /** Writes `text` in UTF-8. */
  text(text: string): void {
    this.bytes(Buffer.from(text, 'utf8'));
  }

  /** Writes a sample value as `formatSampleValue` spells it: a whole number digit by digit. */
  value(value: number): void {
    if (this.buffer.length - this.offset < 32) {
      this.nextChunk();
    }
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      // ASCII, and at most 24 characters: written as it is spelt, without a buffer of its own.
      const text = formatSampleValue(value);
      for (let i = 0; i < text.length; i++) {
        this.buffer[this.offset++] = text.charCodeAt(i);
      }
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) {
      digits++;
    }
    let rest = value;
    for (let i = this.offset + digits - 1; i >= this.offset; i--) {
      this.buffer[i] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.offset += digits;
  }

  /** Writes `value` as a protobuf varint (an unsigned integer below 2^32). */
  varint(value: number): void {
    if (this.buffer.length - this.offset < 5) {
      this.nextChunk();
    }
    let rest = value >>> 0;
    while (rest > 0x7f) {
      this.buffer[this.offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.offset++] = rest;
  }

  /** Ends a line. */
  lineFeed(): void {
    if (this.offset === this.buffer.length) {
      this.nextChunk();
    }
    this.buffer[this.offset++] = LINE_FEED;
  }

  /** The buffers written, in order; the writer is spent. */
  finish(): Buffer[] {
    if (this.offset > 0) {
      this.chunks.push(this.buffer.subarray(0, this.offset));
    } else {
      this.buffers.giveBack([this.buffer]);
    }
    return this.chunks;
  }

  private nextChunk(): void {
    if (this.offset > 0) {
      this.chunks.push(this.buffer.subarray(0, this.offset));
      this.written += this.offset;
      this.buffer = this.buffers.take();
      this.offset = 0;
    }
  }
}
