import protobuf from 'protobufjs';
import { METRIC_FAMILY_TYPE } from '../../src/exposition/protobuf-messages.js';

/** Every length-delimited `MetricFamily` of an exposition, as plain objects (64-bit integers as numbers, enums by name, repeated fields always). */
export function decodeProtobufExposition(bytes: Uint8Array): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(bytes);
  const families: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) {
    const message = METRIC_FAMILY_TYPE.decodeDelimited(reader);
    families.push(METRIC_FAMILY_TYPE.toObject(message, { longs: Number, enums: String, arrays: true }));
  }
  return families;
}

/** What Prometheus 2.42 started with `--enable-feature=native-histograms` sends as its `Accept` header. */
export const PROMETHEUS_PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
