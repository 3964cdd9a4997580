import { ExpositionBuffers, ExpositionWriter } from '../../src/exposition/exposition-writer.js';
import { expositionFormatFor } from '../../src/exposition/format-negotiation.js';
import { formatSampleValue } from '../../src/exposition/text-format.js';

const written = (writer: ExpositionWriter) => Buffer.concat(writer.finish()).toString('utf8');

describe('ExpositionWriter', () => {
  it('spells every value as prom-client does', () => {
    const values = [
      0,
      -0,
      1,
      7,
      10,
      99,
      1234567890,
      Number.MAX_SAFE_INTEGER,
      2 ** 53,
      1e21,
      -3,
      0.1,
      0.30000000000000004,
      1e-7,
      -2.5e-300,
      NaN,
      Infinity,
      -Infinity,
    ];
    const writer = new ExpositionWriter();
    for (const value of values) {
      writer.value(value);
      writer.lineFeed();
    }
    expect(written(writer)).toBe(values.map((value) => `${formatSampleValue(value)}\n`).join(''));
  });

  it('writes across its buffers without losing or reordering a byte, and a piece larger than one buffer whole', () => {
    const writer = new ExpositionWriter();
    let expected = '';
    for (let i = 0; i < 40_000; i++) {
      const prefix = Buffer.from(`séries_${i}{é="${'x'.repeat(i % 50)}"} `);
      writer.bytes(prefix);
      writer.value(i * 7);
      writer.lineFeed();
      expected += `${prefix.toString()}${i * 7}\n`;
    }
    const big = 'y'.repeat(600 * 1024);
    writer.text(big);
    expected += big;
    const chunks = writer.finish();
    expect(chunks.length).toBeGreaterThan(4);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
  });

  it('reuses the buffers given back, and never one still handed out', () => {
    const buffers = new ExpositionBuffers();
    const first = new ExpositionWriter(buffers);
    for (let i = 0; i < 3; i++) {
      first.text('a'.repeat(200 * 1024));
    }
    const chunks = first.finish();
    expect(chunks).toHaveLength(3);
    const second = new ExpositionWriter(buffers);
    second.text('b');
    const [fresh] = second.finish();
    expect(chunks.some((chunk) => chunk.buffer === fresh.buffer)).toBe(false);
    buffers.giveBack(chunks);
    const third = new ExpositionWriter(buffers);
    third.text('c');
    const [reused] = third.finish();
    expect(chunks.some((chunk) => chunk.buffer === reused.buffer)).toBe(true);
    expect(reused.toString()).toBe('c');
  });
});

describe('expositionFormatFor', () => {
  it.each([
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/plain;version=0.0.4', 'text'],
    // Prometheus 2.42.
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    // Prometheus 2.42 with --enable-feature=native-histograms.
    [
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'protobuf',
    ],
    ['application/openmetrics-text;q=0', 'text'],
    ['text/plain;q=1,application/openmetrics-text;q=0.5', 'openmetrics'],
    ['application/vnd.google.protobuf', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0', 'text'],
    [
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text',
      'openmetrics',
    ],
    [['text/plain', 'application/openmetrics-text'], 'openmetrics'],
  ])('answers %j with %s', (accept, format) => {
    expect(expositionFormatFor(accept)).toBe(format);
  });
});
