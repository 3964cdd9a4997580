/** The token counts of an OpenAI `usage` object. */
export interface TokenUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  /** `cached_tokens`: prompt tokens the engine's prefix cache served. */
  prompt_tokens_details?: { cached_tokens?: number };
  /** `reasoning_tokens`: completion tokens the model spent reasoning. */
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** What one payload (a streamed chunk, or a whole unary answer) says about the output. */
export interface PayloadSummary {
  /** Output-bearing choices in it (content, reasoning, tool calls): each counts as one token. */
  tokens: number;
  /** Of those, the choices whose output is content (not reasoning alone). */
  content: number;
  /** Its `usage`, if it has one with valid counts. */
  usage?: TokenUsage;
}

export const NO_OUTPUT: PayloadSummary = { tokens: 0, content: 0 };
export const ONE_TOKEN: PayloadSummary = { tokens: 1, content: 1 };
export const ONE_REASONING_TOKEN: PayloadSummary = { tokens: 1, content: 0 };

/** The Responses API events that carry output, and whether it is content. */
const RESPONSES_OUTPUT_EVENTS: ReadonlyMap<string, boolean> = new Map([
  ['response.output_text.delta', true],
  ['response.refusal.delta', true],
  ['response.function_call_arguments.delta', true],
  ['response.reasoning_text.delta', false],
  ['response.reasoning_summary_text.delta', false],
]);

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** `value` as an object to read fields of, if it is one. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The valid counts of an OpenAI `usage` object, or undefined. */
export function readUsage(value: unknown): TokenUsage | undefined {
  const record = asRecord(value);
  if (!record) {
    return undefined;
  }
  const usage: TokenUsage = {};
  if (isCount(record.prompt_tokens)) {
    usage.prompt_tokens = record.prompt_tokens;
  }
  if (isCount(record.completion_tokens)) {
    usage.completion_tokens = record.completion_tokens;
  }
  const cachedTokens = asRecord(record.prompt_tokens_details)?.cached_tokens;
  if (isCount(cachedTokens)) {
    usage.prompt_tokens_details = { cached_tokens: cachedTokens };
  }
  const reasoningTokens = asRecord(record.completion_tokens_details)?.reasoning_tokens;
  if (isCount(reasoningTokens)) {
    usage.completion_tokens_details = { reasoning_tokens: reasoningTokens };
  }
  return Object.keys(usage).length === 0 ? undefined : usage;
}

/** The Responses API names its counts `input_tokens` / `output_tokens` (and `input_tokens_details`, `output_tokens_details`). */
function readResponsesUsage(value: unknown): TokenUsage | undefined {
  const record = asRecord(value);
  return (
    record &&
    readUsage({
      prompt_tokens: record.input_tokens,
      completion_tokens: record.output_tokens,
      prompt_tokens_details: record.input_tokens_details,
      completion_tokens_details: record.output_tokens_details,
    })
  );
}

/** What one choice of a chunk carries: content (text, content, a refusal, tool calls), reasoning alone, or nothing. */
function outputOf(choice: unknown): 'content' | 'reasoning' | undefined {
  const record = asRecord(choice);
  if (!record) {
    return undefined;
  }
  if (isNonEmptyString(record.text)) {
    return 'content';
  }
  const part = asRecord(record.delta ?? record.message);
  if (part === undefined) {
    return undefined;
  }
  if (
    isNonEmptyString(part.content) ||
    isNonEmptyString(part.refusal) ||
    (Array.isArray(part.tool_calls) && part.tool_calls.length > 0) ||
    asRecord(part.function_call) !== undefined
  ) {
    return 'content';
  }
  // `reasoning_content` (DeepSeek, vLLM), `reasoning` (vLLM, OpenRouter).
  return isNonEmptyString(part.reasoning_content) || isNonEmptyString(part.reasoning) ? 'reasoning' : undefined;
}

/** The parts of an answer the reader of its finish reasons and tool calls reads. */
export interface PayloadReader {
  read(payload: Record<string, unknown>): void;
}

/**
 * Summarizes an OpenAI payload (a chat / completion chunk, a Responses API
 * event, or a whole unary answer): how many choices carry output, how many
 * of them content, and its usage; `answer`, if given, reads the rest.
 */
export function summarizePayload(payload: unknown, answer?: PayloadReader): PayloadSummary {
  const record = asRecord(payload);
  if (!record) {
    return NO_OUTPUT;
  }
  let tokens = 0;
  let content = 0;
  if (Array.isArray(record.choices)) {
    for (const choice of record.choices) {
      const output = outputOf(choice);
      if (output !== undefined) {
        tokens += 1;
        content += output === 'content' ? 1 : 0;
      }
    }
  } else if (typeof record.type === 'string' && isNonEmptyString(record.delta)) {
    const isContent = RESPONSES_OUTPUT_EVENTS.get(record.type);
    if (isContent !== undefined) {
      tokens = 1;
      content = isContent ? 1 : 0;
    }
  }
  answer?.read(record);
  const response = asRecord(record.response);
  const usage = readUsage(record.usage) ?? readUsage(response?.usage) ?? readResponsesUsage(response?.usage ?? record.usage);
  return usage ? { tokens, content, usage } : { tokens, content };
}

/** A body longer than this (a unary answer, a request) is not read for its usage or model: memory and time stay bounded. */
export const MAX_READ_BODY_LENGTH = 1 << 20;

/** `bytes` as a Buffer, without copying them. */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a unary answer is parsed for: its usage; for an answer reader, its choices or (the Responses API's) output too. */
const USAGE_KEY = /"usage"/;
const ANSWER_KEYS = /"(?:usage|choices|output)"/;

/**
 * The usage of a unary answer's whole body, parsed only if it names a usage,
 * or, given `answer` (which then reads the parsed answer), choices or an
 * output. Bytes are searched as latin1: the keys are ASCII, and a body that
 * is not parsed is not decoded from UTF-8.
 */
export function usageOfBody(body: string | Uint8Array, answer?: PayloadReader): TokenUsage | undefined {
  const keys = answer === undefined ? USAGE_KEY : ANSWER_KEYS;
  if (typeof body === 'string') {
    return keys.test(body) ? summarizePayload(parseJson(body), answer).usage : undefined;
  }
  const bytes = bufferOf(body);
  return keys.test(bytes.toString('latin1')) ? summarizePayload(parseJson(bytes.toString('utf8')), answer).usage : undefined;
}

/** Parses JSON text; anything that is not JSON is nothing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `"model": "…"` of an OpenAI answer or chunk's JSON text (the model that answered), unescaped. */
const MODEL_KEY = /"model"\s*:\s*"((?:[^"\\\n]|\\.){1,256})"/;

/** The model an OpenAI answer or chunk names, if its text names one. */
export function modelNamedIn(text: string): string | undefined {
  const match = MODEL_KEY.exec(text);
  if (!match) {
    return undefined;
  }
  const model = parseJson(`"${match[1]}"`);
  return typeof model === 'string' ? model : undefined;
}
