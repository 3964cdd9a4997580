import { StringDecoder } from 'node:string_decoder';

/** The token counts of an OpenAI `usage` object. */
export interface TokenUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/** What one streamed payload says about the output. */
export interface PayloadSummary {
  /** Content-bearing choices in it: each counts as one token. */
  tokens: number;
  /** Its `usage`, if it has one with valid counts. */
  usage?: TokenUsage;
}

const NOTHING: PayloadSummary = { tokens: 0 };
const ONE_TOKEN: PayloadSummary = { tokens: 1 };

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The valid counts of an OpenAI `usage` object, or undefined. */
export function readUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const { prompt_tokens, completion_tokens } = value as Record<string, unknown>;
  const usage: TokenUsage = {};
  if (isCount(prompt_tokens)) {
    usage.prompt_tokens = prompt_tokens;
  }
  if (isCount(completion_tokens)) {
    usage.completion_tokens = completion_tokens;
  }
  return usage.prompt_tokens === undefined && usage.completion_tokens === undefined ? undefined : usage;
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** Whether one choice of a chunk carries output: text, content, reasoning or tool calls. */
function carriesOutput(choice: unknown): boolean {
  if (typeof choice !== 'object' || choice === null) {
    return false;
  }
  const { delta, text, message } = choice as Record<string, unknown>;
  if (isNonEmptyString(text)) {
    return true;
  }
  const part = (delta ?? message) as Record<string, unknown> | undefined;
  if (typeof part !== 'object' || part === null) {
    return false;
  }
  return (
    isNonEmptyString(part.content) ||
    isNonEmptyString(part.reasoning_content) ||
    (Array.isArray(part.tool_calls) && part.tool_calls.length > 0)
  );
}

/**
 * Summarizes an OpenAI payload (a chat / completion chunk, a Responses API
 * event, or a whole unary response): how many choices carry output, and its usage.
 */
export function summarizePayload(payload: unknown): PayloadSummary {
  if (typeof payload !== 'object' || payload === null) {
    return NOTHING;
  }
  const record = payload as Record<string, unknown>;
  let tokens = 0;
  if (Array.isArray(record.choices)) {
    for (const choice of record.choices) {
      if (carriesOutput(choice)) {
        tokens += 1;
      }
    }
  } else if (record.type === 'response.output_text.delta' && isNonEmptyString(record.delta)) {
    tokens = 1;
  }
  const usage =
    readUsage(record.usage) ??
    readUsage((record.response as Record<string, unknown> | undefined)?.usage) ??
    readResponsesUsage(record);
  return usage ? { tokens, usage } : { tokens };
}

/** The Responses API names its counts `input_tokens` / `output_tokens`. */
function readResponsesUsage(record: Record<string, unknown>): TokenUsage | undefined {
  const usage = (record.response as Record<string, unknown> | undefined)?.usage ?? record.usage;
  if (typeof usage !== 'object' || usage === null) {
    return undefined;
  }
  const { input_tokens, output_tokens } = usage as Record<string, unknown>;
  return readUsage({ prompt_tokens: input_tokens, completion_tokens: output_tokens });
}

/** Parses an SSE `data:` value: JSON, or nothing for `[DONE]` and anything else. */
function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/**
 * What the hot path looks for, in one scan: `"choices":[`; what only a full
 * parse reads right (`"usage"`, `"tool_calls"`, content parts
 * `"content":[`); and a non-empty output string (`"` is escaped inside JSON
 * strings, so a match is a real key and value). Which one matched is told
 * from the match's last characters, so no match array is made. Line breaks
 * are looked for apart (`indexOf`): as one more alternative, they made the
 * scan take half as long again.
 */
const MARKERS = /"(?:choices":\[|usage"|tool_calls"|content":\[|(?:content|text|reasoning_content)":"[^"])/g;

/**
 * Where the text before the first marker, and the first marker itself if
 * it was `"choices":[`, ended in the text `summarizeCommonChunk()` last
 * scanned; -1 if its first marker was another one.
 */
let choicesPrefixEnd = -1;

/**
 * The summary of the JSON text `text.slice(start, end)` of a common chunk
 * (choices whose deltas carry plain strings, at most one of them non-empty,
 * no usage, no tool calls, on one line), told from its text without slicing
 * or parsing it; `undefined` for any other text. `afterChoices`: `start` is
 * just after a `"choices":[` that is the text's first marker.
 */
function summarizeCommonChunk(text: string, start: number, end: number, afterChoices = false): PayloadSummary | undefined {
  const lineBreak = text.indexOf('\n', start);
  if (lineBreak !== -1 && lineBreak < end) {
    return undefined;
  }
  MARKERS.lastIndex = start;
  let choices = afterChoices;
  let outputs = 0;
  choicesPrefixEnd = -1;
  while (MARKERS.test(text)) {
    const matchEnd = MARKERS.lastIndex;
    if (matchEnd > end) {
      break;
    }
    const last = text.charCodeAt(matchEnd - 1);
    if (last === 34 /* " of usage, tool_calls */) {
      return undefined;
    }
    if (last === 91 /* [ */ && text.charCodeAt(matchEnd - 2) === 58 /* : */) {
      // `choices":[` or `content":[`
      if (text.charCodeAt(matchEnd - 4) !== 115 /* s */) {
        return undefined;
      }
      if (!choices && outputs === 0) {
        // The first marker: every other one either ends the scan or counts an output.
        choicesPrefixEnd = matchEnd;
      }
      choices = true;
    } else if (++outputs > 1) {
      return undefined;
    }
  }
  if (!choices) {
    return undefined;
  }
  return outputs === 0 ? NOTHING : ONE_TOKEN;
}

/**
 * Summarizes the JSON text of an SSE event. The common chunk (choices whose
 * deltas carry plain strings, at most one of them non-empty, no usage, no
 * tool calls) is told from its text without parsing it: the hot path of a
 * stream. Anything else is parsed and read in full. Both ways give the same
 * answer for OpenAI chunks (pinned by the unit tests).
 */
export function summarizeEventData(data: string): PayloadSummary {
  if (data.charCodeAt(0) !== 123 /* { */) {
    return NOTHING;
  }
  return summarizeCommonChunk(data, 0, data.length) ?? summarizePayload(parseData(data));
}

/**
 * Whether `text` is `data: {…}\n\n`, told from its first and last characters
 * (`startsWith()` / `endsWith()` cost more than the scan that follows).
 */
function isWholeDataEvent(text: string): boolean {
  const length = text.length;
  return (
    length > 9 &&
    text.charCodeAt(length - 1) === 10 &&
    text.charCodeAt(length - 2) === 10 &&
    text.charCodeAt(0) === 100 /* d */ &&
    text.charCodeAt(1) === 97 /* a */ &&
    text.charCodeAt(2) === 116 /* t */ &&
    text.charCodeAt(3) === 97 /* a */ &&
    text.charCodeAt(4) === 58 /* : */ &&
    text.charCodeAt(5) === 32 /* space */ &&
    text.charCodeAt(6) === 123 /* { */
  );
}

/** Longest event the reader waits for; a body that is not SSE must not pile up in memory. */
const MAX_EVENT_LENGTH = 1 << 20;

/**
 * Reads the Server-Sent Events of a response as its chunks are written,
 * whatever their boundaries: a chunk may hold several events, or part of one.
 */
export class SseEventReader {
  private pending = '';
  private dataLines: string[] = [];
  private dataLength = 0;
  /** Made for the first chunk of bytes: most streams write strings. */
  private decoder: StringDecoder | undefined;
  /**
   * The text of the last common chunk up to its `"choices":[`, if that was
   * its first marker. The chunks of a stream mostly begin alike (`id`,
   * `object`, `created`, `model`…): one that begins with it is scanned from
   * there on. Comparing strings costs far less than scanning them.
   */
  private knownStart = '';

  /** The summary of `data: {…}\n\n`, a whole event, if it is a common chunk. */
  private summarizeWholeEvent(event: string): PayloadSummary | undefined {
    const known = this.knownStart;
    const end = event.length - 2;
    if (known.length > 0 && end > known.length && event.slice(0, known.length) === known) {
      return summarizeCommonChunk(event, known.length, end, true);
    }
    const summary = summarizeCommonChunk(event, 6, end);
    if (summary !== undefined && choicesPrefixEnd !== -1) {
      this.knownStart = event.slice(0, choicesPrefixEnd);
    }
    return summary;
  }

  /** Summarizes the events that `chunk` completes. */
  read(chunk: string | Uint8Array): PayloadSummary {
    const incoming = typeof chunk === 'string' ? chunk : (this.decoder ??= new StringDecoder('utf8')).write(chunk);
    // The common chunk: exactly one whole `data: {…}` event, nothing pending.
    if (this.pending === '' && this.dataLines.length === 0 && isWholeDataEvent(incoming)) {
      const summary = this.summarizeWholeEvent(incoming);
      if (summary !== undefined) {
        return summary;
      }
    }
    const text = this.pending + incoming;
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
          const summary = summarizeEventData(this.dataLines.length === 1 ? this.dataLines[0] : this.dataLines.join('\n'));
          this.dataLines = [];
          this.dataLength = 0;
          tokens += summary.tokens;
          usage = summary.usage ?? usage;
        }
      } else if (line.startsWith('data:')) {
        const data = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
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
}
