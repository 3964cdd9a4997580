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

/** How hard a reasoning model thinks; `none` does not reason. */
export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high';

/** A function tool the model may call (Chat Completions' shape). */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/** Body of `POST /v1/chat/completions`. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  stream_options?: StreamOptions;
  /** Any effort but `none` makes the engine reason first. */
  reasoning_effort?: ReasoningEffort;
  /** With tools, the engine calls one. */
  tools?: ChatTool[];
}

/** Body of `POST /v1/completions`: a prompt, or a batch of prompts answered by one choice each. */
export interface CompletionRequest {
  model: string;
  prompt: string | string[];
  stream?: boolean;
  max_tokens?: number;
  stream_options?: StreamOptions;
}

/** Why a choice ended: the model stopped, `max_tokens` was reached, or it called a tool. */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** Token counts of a request. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens the engine's prefix cache served. */
  prompt_tokens_details: { cached_tokens: number };
  /** Of the completion tokens, those the model reasoned with. */
  completion_tokens_details: { reasoning_tokens: number };
}

/** A tool call of a chat answer. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Answer of a unary chat completion. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    /** `reasoning_content` (as vLLM names it) when the model reasoned; `content` is `null` when it called tools. */
    message: { role: 'assistant'; content: string | null; reasoning_content?: string; tool_calls?: ChatToolCall[] };
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
    /** A tool call's first delta names it (`id`, `type`, `function.name`); later ones add to its `arguments`. */
    delta: {
      role?: 'assistant';
      content?: string;
      reasoning_content?: string;
      tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }>;
    };
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

/** A function tool the model may call (the Responses API's shape). */
export interface ResponseTool {
  type: 'function';
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** Body of `POST /v1/responses`. */
export interface ResponseRequest {
  model: string;
  /** The prompt: a string, or messages whose content is a string or `input_text` parts. */
  input: string;
  stream?: boolean;
  max_output_tokens?: number;
  /** Any effort but `none` makes the engine reason first. */
  reasoning?: { effort: ReasoningEffort };
  /** With tools, the engine calls one. */
  tools?: ResponseTool[];
}

/** An item of a Responses API answer's `output`. */
export type ResponseOutputItem =
  | { type: 'reasoning'; id: string; summary: []; content?: Array<{ type: 'reasoning_text'; text: string }> }
  | {
      type: 'message';
      id: string;
      role: 'assistant';
      status: 'in_progress' | 'completed' | 'incomplete';
      content: Array<{ type: 'output_text'; text: string; annotations: [] }>;
    }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' };

/** Token counts of a Responses API answer. */
export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** A Responses API answer: whole when unary, a snapshot in a stream's events. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  model: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  /** Why it is incomplete: `max_output_tokens` was reached. */
  incomplete_details: { reason: 'max_output_tokens' } | null;
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
  error: null;
}

/** An event of a streamed Responses API answer: its `type`, its `sequence_number`, and the fields of that type. */
export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}
