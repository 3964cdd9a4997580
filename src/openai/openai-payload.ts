/** The token counts of an OpenAI `usage` object. */
export interface TokenUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  /** `cached_tokens`: prompt tokens the engine's prefix cache served. */
  prompt_tokens_details?: { cached_tokens?: number };
}

/** What one payload (a streamed chunk, or a whole unary answer) says about the output. */
export interface PayloadSummary {
  /** Content-bearing choices in it: each counts as one token. */
  tokens: number;
  /** Its `usage`, if it has one with valid counts. */
  usage?: TokenUsage;
}

export const NO_OUTPUT: PayloadSummary = { tokens: 0 };
export const ONE_TOKEN: PayloadSummary = { tokens: 1 };

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isNonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
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
  return Object.keys(usage).length === 0 ? undefined : usage;
}

/** The Responses API names its counts `input_tokens` / `output_tokens` (and `input_tokens_details`). */
function readResponsesUsage(value: unknown): TokenUsage | undefined {
  const record = asRecord(value);
  return (
    record &&
    readUsage({
      prompt_tokens: record.input_tokens,
      completion_tokens: record.output_tokens,
      prompt_tokens_details: record.input_tokens_details,
    })
  );
}

/** Whether one choice of a chunk carries output: text, content, reasoning or tool calls. */
function carriesOutput(choice: unknown): boolean {
  const record = asRecord(choice);
  if (!record) {
    return false;
  }
  if (isNonEmptyString(record.text)) {
    return true;
  }
  const part = asRecord(record.delta ?? record.message);
  return (
    part !== undefined &&
    (isNonEmptyString(part.content) ||
      isNonEmptyString(part.reasoning_content) ||
      (Array.isArray(part.tool_calls) && part.tool_calls.length > 0))
  );
}

/**
 * Summarizes an OpenAI payload (a chat / completion chunk, a Responses API
 * event, or a whole unary answer): how many choices carry output, and its usage.
 */
export function summarizePayload(payload: unknown): PayloadSummary {
  const record = asRecord(payload);
  if (!record) {
    return NO_OUTPUT;
  }
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
  const response = asRecord(record.response);
  const usage = readUsage(record.usage) ?? readUsage(response?.usage) ?? readResponsesUsage(response?.usage ?? record.usage);
  return usage ? { tokens, usage } : { tokens };
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
