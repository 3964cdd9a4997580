import { StringDecoder } from 'node:string_decoder';
import {
  NO_OUTPUT,
  ONE_REASONING_TOKEN,
  ONE_TOKEN,
  type PayloadReader,
  type PayloadSummary,
  type TokenUsage,
  parseJson,
  summarizePayload,
} from './openai-payload.js';

/**
 * What tells the common chunk of an OpenAI stream apart, in one scan:
 * `"choices":[`; what only a full parse reads right (a `"usage"` that is not
 * `null`, `"tool_calls"`, `"function_call"`, a `"finish_reason"` that is a
 * string, content parts `"content":[`); and a non-empty output string,
 * content or reasoning. `"` is escaped inside JSON strings, so a match is a
 * real key. OpenAI sends `"usage":null` on every chunk of a stream that asked
 * for its usage, and `"finish_reason":null` on every chunk but a choice's
 * last: such chunks are common too.
 */
const MARKERS =
  '"(?:choices":\\[|usage"(?!\\s*:\\s*null\\b)|tool_calls"|function_call"|finish_reason"\\s*:\\s*"|content":\\[|' +
  '(?:content|text|refusal|reasoning_content|reasoning)":"[^"])';

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

  /** `answer`, if given, reads each payload's finish reasons and tool calls. */
  constructor(private readonly answer?: PayloadReader) {}

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
    return this.summarizeCommonChunk(data, 0, data.length) ?? summarizePayload(parseJson(data), this.answer);
  }

  private readLines(text: string): PayloadSummary {
    let tokens = 0;
    let content = 0;
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
          content += summary.content;
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
    return usage ? { tokens, content, usage } : { tokens, content };
  }

  /**
   * The summary of the JSON text `text.slice(start, end)` if it is a common
   * chunk (choices whose deltas carry plain strings, at most one of them
   * non-empty, no usage, no tool calls, no finish reason), told from its text
   * without slicing or parsing it; `undefined` for anything else, which is
   * then parsed. Both ways agree on OpenAI chunks (the unit tests compare them).
   */
  private summarizeCommonChunk(text: string, start: number, end: number): PayloadSummary | undefined {
    const lineBreak = text.indexOf('\n', start);
    if (lineBreak !== -1 && lineBreak < end) {
      return undefined;
    }
    const markers = this.markers;
    markers.lastIndex = start;
    let choices = false;
    let output: PayloadSummary = NO_OUTPUT;
    while (markers.test(text)) {
      const matchEnd = markers.lastIndex;
      if (matchEnd > end) {
        break;
      }
      const last = text.charCodeAt(matchEnd - 1);
      if (last === 34 /* " of usage", tool_calls", function_call", finish_reason":" */) {
        return undefined;
      }
      if (last === 91 /* [ */ && text.charCodeAt(matchEnd - 2) === 58 /* : */) {
        // `choices":[` or a content part `content":[`
        if (text.charCodeAt(matchEnd - 4) !== 115 /* s */) {
          return undefined;
        }
        choices = true;
      } else if (output !== NO_OUTPUT) {
        return undefined;
      } else {
        output = isReasoningKey(text, matchEnd) ? ONE_REASONING_TOKEN : ONE_TOKEN;
      }
    }
    return choices ? output : undefined;
  }
}

/**
 * Whether the output string whose first character ends at `matchEnd` is the
 * value of `reasoning` or `reasoning_content`: the key's last letter is 5
 * characters back (`…g":"x` for `reasoning`; `…t":"x` for `content`, `text`
 * and `reasoning_content`, the last told by the `_` 12 back, after a `n` 6
 * back that `text` lacks).
 */
function isReasoningKey(text: string, matchEnd: number): boolean {
  const keyEnd = text.charCodeAt(matchEnd - 5);
  if (keyEnd === 103 /* g */) {
    return true;
  }
  return keyEnd === 116 /* t */ && text.charCodeAt(matchEnd - 6) === 110 /* n */ && text.charCodeAt(matchEnd - 12) === 95; /* _ */
}
