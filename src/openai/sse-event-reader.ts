import { StringDecoder } from 'node:string_decoder';
import { NO_OUTPUT, ONE_TOKEN, type PayloadSummary, type TokenUsage, parseJson, summarizePayload } from './openai-payload.js';

/**
 * What tells the common chunk of an OpenAI stream apart, in one scan:
 * `"choices":[`; what only a full parse reads right (a `"usage"` that is not
 * `null`, `"tool_calls"`, content parts `"content":[`); and a non-empty output
 * string. `"` is escaped inside JSON strings, so a match is a real key.
 * OpenAI sends `"usage":null` on every chunk of a stream that asked for its
 * usage: such a chunk is common too.
 */
const MARKERS = '"(?:choices":\\[|usage"(?!\\s*:\\s*null\\b)|tool_calls"|content":\\[|(?:content|text|reasoning_content)":"[^"])';

/** Longest event the reader waits for: a body that is not SSE must not pile up in memory. */
const MAX_EVENT_LENGTH = 1 << 20;

/** Whether `text` is one `data: {…}\n\n` event, but for line breaks before its end, which `summarizeCommonChunk` looks for anyway. */
function looksLikeOneDataEvent(text: string): boolean {
  const length = text.length;
  return length > 9 && text.charCodeAt(length - 1) === 10 && text.charCodeAt(length - 2) === 10 && text.startsWith('data: {');
}

/**
 * Reads the Server-Sent Events of a response as its chunks are written,
 * whatever their boundaries (a chunk may hold several events, or part of
 * one), and sums up the OpenAI payloads of the events each chunk completes.
 */
export class SseEventReader {
  private pending = '';
  private dataLines: string[] = [];
  private dataLength = 0;
  /** Made for the first chunk of bytes: most streams write strings. */
  private decoder: StringDecoder | undefined;
  private readonly markers = new RegExp(MARKERS, 'g');

  /** Summarizes the events that `chunk` completes. */
  read(chunk: string | Uint8Array): PayloadSummary {
    const text = typeof chunk === 'string' ? chunk : (this.decoder ??= new StringDecoder('utf8')).write(chunk);
    // The common chunk of a stream: one whole `data: {…}` event, nothing pending.
    if (this.pending === '' && this.dataLines.length === 0 && looksLikeOneDataEvent(text)) {
      const summary = this.summarizeCommonChunk(text, 6, text.length - 2);
      if (summary !== undefined) {
        return summary;
      }
    }
    return this.readLines(this.pending + text);
  }

  /** Summarizes the JSON text of one event's data. */
  summarizeEventData(data: string): PayloadSummary {
    if (!data.startsWith('{')) {
      return NO_OUTPUT;
    }
    return this.summarizeCommonChunk(data, 0, data.length) ?? summarizePayload(parseJson(data));
  }

  private readLines(text: string): PayloadSummary {
    let tokens = 0;
    let usage: TokenUsage | undefined;
    let start = 0;
    let end: number;
    while ((end = text.indexOf('\n', start)) !== -1) {
      let line = text.slice(start, end);
      start = end + 1;
      if (line.endsWith('\r')) {
        line = line.slice(0, -1);
      }
      if (line === '') {
        if (this.dataLines.length > 0) {
          const summary = this.summarizeEventData(this.dataLines.join('\n'));
          this.dataLines = [];
          this.dataLength = 0;
          tokens += summary.tokens;
          usage = summary.usage ?? usage;
        }
      } else if (line.startsWith('data:')) {
        const data = line.startsWith('data: ') ? line.slice(6) : line.slice(5);
        this.dataLength += data.length;
        if (this.dataLength > MAX_EVENT_LENGTH) {
          this.dataLines = [];
          this.dataLength = 0;
        } else {
          this.dataLines.push(data);
        }
      }
    }
    this.pending = text.length - start > MAX_EVENT_LENGTH ? '' : text.slice(start);
    return usage ? { tokens, usage } : { tokens };
  }

  /**
   * The summary of the JSON text `text.slice(start, end)` if it is a common
   * chunk (choices whose deltas carry plain strings, at most one of them
   * non-empty, no usage, no tool calls), told from its text without slicing
   * or parsing it; `undefined` for anything else, which is then parsed.
   * Both ways agree on OpenAI chunks (the unit tests compare them).
   */
  private summarizeCommonChunk(text: string, start: number, end: number): PayloadSummary | undefined {
    const lineBreak = text.indexOf('\n', start);
    if (lineBreak !== -1 && lineBreak < end) {
      return undefined;
    }
    const markers = this.markers;
    markers.lastIndex = start;
    let choices = false;
    let outputs = 0;
    while (markers.test(text)) {
      const matchEnd = markers.lastIndex;
      if (matchEnd > end) {
        break;
      }
      const last = text.charCodeAt(matchEnd - 1);
      if (last === 34 /* " of usage", tool_calls" */) {
        return undefined;
      }
      if (last === 91 /* [ */ && text.charCodeAt(matchEnd - 2) === 58 /* : */) {
        // `choices":[` or a content part `content":[`
        if (text.charCodeAt(matchEnd - 4) !== 115 /* s */) {
          return undefined;
        }
        choices = true;
      } else if (++outputs > 1) {
        return undefined;
      }
    }
    if (!choices) {
      return undefined;
    }
    return outputs === 0 ? NO_OUTPUT : ONE_TOKEN;
  }
}
