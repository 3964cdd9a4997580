import { InvalidRequestException } from './openai.exceptions.js';
import type { ChatCompletionRequest, ChatMessage, CompletionRequest, EmbeddingRequest, StreamOptions } from './openai.types.js';

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function body(value: unknown): Fields {
  if (!isObject(value)) {
    throw new InvalidRequestException('The request body must be a JSON object.');
  }
  return value;
}

function model(fields: Fields): string {
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
  return { model: modelName, messages: messages.map(message), ...generationFields(fields) };
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
