import { formatSampleValue } from './text-format.js';

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

  /** Writes one byte (an ASCII character's code). */
  byte(byte: number): void {
    if (this.offset === this.buffer.length) {
      this.nextChunk();
    }
    this.buffer[this.offset++] = byte;
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
    this.byte(LINE_FEED);
  }

  /** The buffers filled since the last call, in order: the start of the exposition, to send while the rest is written. */
  takeFilled(): Buffer[] {
    return this.chunks.splice(0, this.chunks.length);
  }

  /** The buffers written (since the last `takeFilled()`), in order; the writer is spent. */
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
