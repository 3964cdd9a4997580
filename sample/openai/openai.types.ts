/**
 * The parts of the OpenAI API the sample serves, as plain interfaces.
 * Field names follow the API (snake_case), as these are the JSON bodies.
 */

/** Options of a streamed answer. */
export interface StreamOptions {
  /** Send a last chunk, with no choices, carrying the `usage` of the request. */
  include_usage?: boolean;
}

/** One message of a conversation. Only text content is supported here. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** Body of `POST /v1/chat/completions`. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  stream_options?: StreamOptions;
}

/** Body of `POST /v1/completions`: a prompt, or a batch of prompts answered by one choice each. */
export interface CompletionRequest {
  model: string;
  prompt: string | string[];
  stream?: boolean;
  max_tokens?: number;
  stream_options?: StreamOptions;
}

/** Why a choice ended: the model stopped, or `max_tokens` was reached. */
export type FinishReason = 'stop' | 'length';

/** Token counts of a request. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens the engine's prefix cache served. */
  prompt_tokens_details: { cached_tokens: number };
}

/** Answer of a unary chat completion. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: FinishReason;
  }>;
  usage: Usage;
}

/** One event of a streamed chat completion. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
  }>;
  /** Only on the last chunk, when `stream_options.include_usage` is set (its `choices` is then empty). */
  usage?: Usage;
}

/** Answer of a unary completion, and each event of a streamed one. */
export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    text: string;
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  /** Always on a unary answer; on the last event of a stream when `stream_options.include_usage` is set. */
  usage?: Usage;
}

/** A model of `GET /v1/models`. */
export interface Model {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** Answer of `GET /v1/models`. */
export interface ModelList {
  object: 'list';
  data: Model[];
}

/** Body of an error answer. */
export interface OpenAiErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/** The body of `POST /v1/embeddings`. */
export interface EmbeddingRequest {
  model: string;
  input: string | string[];
  /** `float` (default): arrays of numbers; `base64`: little-endian float32 bytes, base64-encoded (what the openai client asks for). */
  encoding_format?: 'float' | 'base64';
}

/** One vector of an embeddings answer. */
export interface Embedding {
  object: 'embedding';
  index: number;
  embedding: number[] | string;
}

/** The answer of `POST /v1/embeddings`. */
export interface EmbeddingList {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
