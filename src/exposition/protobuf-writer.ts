import { type ExpositionBuffers, ExpositionWriter } from './exposition-writer.js';
import {
  METRIC_FAMILY_TYPE,
  METRIC_FIELD_KEY,
  METRIC_TYPE,
  METRIC_TYPES,
  type MetricData,
  type MetricFamilyData,
  metricFields,
} from './protobuf-messages.js';
import type { RenderSlices } from './render-slices.js';

/** The bytes of `value` as a varint. */
function varintLength(value: number): number {
  let length = 1;
  for (let rest = value >>> 7; rest > 0; rest >>>= 7) {
    length++;
  }
  return length;
}

/**
 * Writes the protobuf exposition format (`PROTOBUF_EXPOSITION_CONTENT_TYPE`)
 * one metric at a time, each encoded as it comes, so that a family of many
 * series can be written in slices: each `MetricFamily` message
 * length-delimited, in the order written, into buffers (`ExpositionWriter`).
 */
export class ProtobufExpositionWriter {
  private readonly out: ExpositionWriter;
  /** The family being written: its fields but its metrics, its type, its metrics encoded, and its length. */
  private current: { header: Uint8Array; type: MetricFamilyData['type']; metrics: Uint8Array[]; length: number } | undefined;

  constructor(buffers?: ExpositionBuffers) {
    this.out = new ExpositionWriter(buffers);
  }

  /** Starts a family, writing out the one before if `endFamily` did not. */
  family(name: string, help: string, type: MetricFamilyData['type']): void {
    for (const metric of this.startWritingOut()) {
      this.writeOut(metric);
    }
    const header = METRIC_FAMILY_TYPE.encode({ name, help, type: METRIC_TYPES[type] }).finish();
    this.current = { header, type, metrics: [], length: header.length };
  }

  /** Adds a metric to the family started last. */
  metric(metric: MetricData<MetricFamilyData['type']>): void {
    const family = this.current;
    if (family === undefined) {
      throw new Error('nestjs-llm-metrics: a metric written before its family');
    }
    const bytes = METRIC_TYPE.encode(metricFields(family.type, metric)).finish();
    family.metrics.push(bytes);
    family.length += 1 + varintLength(bytes.length) + bytes.length;
  }

  /**
   * Writes out the family started last, now that its length is known; with
   * `slices`, pausing between slices of the work (a family of thousands of
   * series is a long copy).
   */
  async endFamily(slices: RenderSlices): Promise<void> {
    const metrics = this.startWritingOut();
    for (const metric of metrics) {
      this.writeOut(metric);
      if (slices.due()) {
        await slices.pause();
      }
    }
  }

  /** The exposition written, as buffers to send one after the other; the writer is spent. */
  finish(): Buffer[] {
    for (const metric of this.startWritingOut()) {
      this.writeOut(metric);
    }
    return this.out.finish();
  }

  /** Writes out the length and fields of the family started last, and returns its metrics, to write out next. */
  private startWritingOut(): readonly Uint8Array[] {
    const family = this.current;
    if (family === undefined) {
      return [];
    }
    this.current = undefined;
    this.out.varint(family.length);
    this.out.bytes(family.header);
    return family.metrics;
  }

  private writeOut(metric: Uint8Array): void {
    this.out.varint(METRIC_FIELD_KEY);
    this.out.varint(metric.length);
    this.out.bytes(metric);
  }
}

/**
 * `families` in the protobuf exposition format
 * (`PROTOBUF_EXPOSITION_CONTENT_TYPE`): one length-delimited
 * `MetricFamily` message each, in the order given.
 */
export function encodeProtobufExposition(families: readonly MetricFamilyData[]): Uint8Array {
  const writer = new ProtobufExpositionWriter();
  for (const family of families) {
    writer.family(family.name, family.help, family.type);
    for (const metric of family.metrics) {
      writer.metric(metric);
    }
  }
  return Buffer.concat(writer.finish());
}
