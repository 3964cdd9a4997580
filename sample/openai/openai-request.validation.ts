import { InvalidRequestException } from './openai.exceptions.js';
import type {
  ChatCompletionRequest,
  ChatMessage,
  ChatTool,
  CompletionRequest,
  EmbeddingRequest,
  ReasoningEffort,
  ResponseRequest,
  StreamOptions,
} from './openai.types.js';

type Fields = Record<string, unknown>;

export function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function body(value: unknown): Fields {
  if (!isObject(value)) {
    throw new InvalidRequestException('The request body must be a JSON object.');
  }
  return value;
}

export function model(fields: Fields): string {
  const { model } = fields;
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidRequestException('`model` is required and must be a non-empty string.', 'model');
  }
  return model;
}

/** The fields both endpoints share; an absent optional field stays absent. */
function generationFields(fields: Fields): Pick<ChatCompletionRequest, 'stream' | 'max_tokens' | 'stream_options'> {
  const { stream, max_tokens, stream_options } = fields;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new InvalidRequestException('`stream` must be a boolean.', 'stream');
  }
  if (max_tokens !== undefined && max_tokens !== null && !(Number.isSafeInteger(max_tokens) && (max_tokens as number) >= 1)) {
    throw new InvalidRequestException('`max_tokens` must be a positive integer.', 'max_tokens');
  }
  let streamOptions: StreamOptions | undefined;
  if (stream_options !== undefined && stream_options !== null) {
    if (!isObject(stream_options) || !['undefined', 'boolean'].includes(typeof stream_options.include_usage)) {
      throw new InvalidRequestException('`stream_options` must be an object like { "include_usage": true }.', 'stream_options');
    }
    streamOptions = { include_usage: stream_options.include_usage as boolean | undefined };
  }
  return {
    stream: stream === true,
    ...(typeof max_tokens === 'number' && { max_tokens }),
    ...(streamOptions && { stream_options: streamOptions }),
  };
}

const REASONING_EFFORTS: readonly unknown[] = ['none', 'minimal', 'low', 'medium', 'high'] satisfies ReasoningEffort[];

/** A reasoning effort, if given; `param` names it in the error. */
export function reasoningEffort(value: unknown, param: string): ReasoningEffort | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!REASONING_EFFORTS.includes(value)) {
    throw new InvalidRequestException(`\`${param}\` must be one of ${REASONING_EFFORTS.join(', ')}.`, param);
  }
  return value as ReasoningEffort;
}

/**
 * The names of the function tools of `value`, if given: `nameOf` reads a
 * tool's name (the two APIs nest it differently).
 */
export function toolNames(value: unknown, nameOf: (tool: Fields) => unknown): string[] | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  const names = Array.isArray(value) ? value.map((tool) => (isObject(tool) && tool.type === 'function' ? nameOf(tool) : undefined)) : [];
  if (!Array.isArray(value) || !names.every((name) => typeof name === 'string' && name.length > 0)) {
    throw new InvalidRequestException('`tools` must be an array of function tools, each with a name.', 'tools');
  }
  return names as string[];
}

function chatTools(value: unknown): ChatTool[] | undefined {
  const names = toolNames(value, (tool) => (isObject(tool.function) ? tool.function.name : undefined));
  return names?.map((name) => ({ type: 'function', function: { name } }));
}

function message(value: unknown, index: number): ChatMessage {
  if (!isObject(value) || typeof value.role !== 'string' || typeof value.content !== 'string') {
    throw new InvalidRequestException(
      `\`messages[${index}]\` must be an object with a string \`role\` and a string \`content\`.`,
      `messages[${index}]`,
    );
  }
  return { role: value.role, content: value.content };
}

/**
 * Checks the body of `POST /v1/chat/completions`.
 * @throws InvalidRequestException (400) naming the first faulty parameter.
 */
export function validateChatCompletionRequest(value: unknown): ChatCompletionRequest {
  const fields = body(value);
  const modelName = model(fields);
  const { messages } = fields;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidRequestException('`messages` is required and must be a non-empty array.', 'messages');
  }
  const effort = reasoningEffort(fields.reasoning_effort, 'reasoning_effort');
  const tools = chatTools(fields.tools);
  return {
    model: modelName,
    messages: messages.map(message),
    ...generationFields(fields),
    ...(effort && { reasoning_effort: effort }),
    ...(tools && { tools }),
  };
}

/**
 * Checks the body of `POST /v1/completions`.
 * @throws InvalidRequestException (400) naming the first faulty parameter.
 */
export function validateCompletionRequest(value: unknown): CompletionRequest {
  const fields = body(value);
  const modelName = model(fields);
  const { prompt } = fields;
  const isPrompt =
    typeof prompt === 'string' || (Array.isArray(prompt) && prompt.length > 0 && prompt.every((item) => typeof item === 'string'));
  if (!isPrompt) {
    throw new InvalidRequestException('`prompt` is required and must be a string or a non-empty array of strings.', 'prompt');
  }
  return { model: modelName, prompt, ...generationFields(fields) };
}

/**
 * Checks the body of `POST /v1/embeddings`.
 * @throws InvalidRequestException (400) naming the first faulty parameter.
 */
export function validateEmbeddingRequest(value: unknown): EmbeddingRequest {
  const fields = body(value);
  const modelName = model(fields);
  const { input } = fields;
  const isInput =
    (typeof input === 'string' && input.length > 0) ||
    (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string'));
  if (!isInput) {
    throw new InvalidRequestException('`input` is required and must be a non-empty string or array of strings.', 'input');
  }
  const { encoding_format } = fields;
  if (encoding_format !== undefined && encoding_format !== null && encoding_format !== 'float' && encoding_format !== 'base64') {
    throw new InvalidRequestException('`encoding_format` must be "float" or "base64".', 'encoding_format');
  }
  return { model: modelName, input, ...(encoding_format === 'base64' && { encoding_format }) };
}

/** The text of a Responses API input message's content: a string, or its `input_text` parts joined. */
function inputText(content: unknown): string | undefined {
  if (typeof content === 'string') {
    return content;
  }
  const parts = Array.isArray(content) ? content.map((part) => (isObject(part) ? part.text : undefined)) : [];
  return Array.isArray(content) && parts.every((text) => typeof text === 'string') ? parts.join(' ') : undefined;
}

/**
 * Checks the body of `POST /v1/responses`; the prompt is the string `input`,
 * or the last user message of an `input` array.
 * @throws InvalidRequestException (400) naming the first faulty parameter.
 */
export function validateResponseRequest(value: unknown): ResponseRequest {
  const fields = body(value);
  const modelName = model(fields);
  const { input, stream, max_output_tokens, reasoning } = fields;
  const messages = Array.isArray(input) ? input.map((item) => (isObject(item) ? item : {})) : [];
  const user = [...messages].reverse().find((message) => message.role === 'user') ?? messages[messages.length - 1];
  const prompt = typeof input === 'string' ? input : user && inputText(user.content);
  if (prompt === undefined || prompt === '') {
    throw new InvalidRequestException('`input` is required: a string, or messages with text content.', 'input');
  }
  const limited = max_output_tokens !== undefined && max_output_tokens !== null;
  if (limited && !(Number.isSafeInteger(max_output_tokens) && (max_output_tokens as number) >= 1)) {
    throw new InvalidRequestException('`max_output_tokens` must be a positive integer.', 'max_output_tokens');
  }
  if (reasoning !== undefined && reasoning !== null && !isObject(reasoning)) {
    throw new InvalidRequestException('`reasoning` must be an object like { "effort": "low" }.', 'reasoning');
  }
  const effort = reasoningEffort(reasoning?.effort, 'reasoning.effort');
  const tools = toolNames(fields.tools, (tool) => tool.name);
  return {
    model: modelName,
    input: prompt,
    ...generationFields({ stream }),
    ...(limited && { max_output_tokens: max_output_tokens as number }),
    ...(effort && { reasoning: { effort } }),
    ...(tools && { tools: tools.map((name) => ({ type: 'function' as const, name })) }),
  };
}
