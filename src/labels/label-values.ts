import { describeValue } from '../options/option-error.js';

/** Value of the `status` label for a request that succeeded. */
export const REQUEST_STATUS_SUCCESS = 'success';
/** Value of the `status` label for a request that failed, was cancelled, or was never marked ok. */
export const REQUEST_STATUS_ERROR = 'error';
/** Value of the `request_type` label for a streaming request (single in, many out). */
export const REQUEST_TYPE_STREAM = 'stream';
/** Value of the `request_type` label for a unary request (single in, single out). */
export const REQUEST_TYPE_UNARY = 'unary';

/**
 * The `endpoint` label values the library knows. Any other name matching
 * `^[a-z][a-z0-9_]*$` is accepted as a custom endpoint.
 */
export const Endpoint = {
  /** OpenAI Completions (`/v1/completions`). */
  Completions: 'completions',
  /** OpenAI Chat Completions (`/v1/chat/completions`). */
  ChatCompletions: 'chat_completions',
  /** OpenAI Embeddings (`/v1/embeddings`). */
  Embeddings: 'embeddings',
  /** OpenAI Responses (`/v1/responses`). */
  Responses: 'responses',
} as const;
export type KnownEndpoint = (typeof Endpoint)[keyof typeof Endpoint];
/** An `endpoint` label value: a known one, or a custom `^[a-z][a-z0-9_]*$` name. */
export type EndpointName = KnownEndpoint | (string & {});

/** The `request_type` label values. */
export const RequestType = {
  Unary: REQUEST_TYPE_UNARY,
  Stream: REQUEST_TYPE_STREAM,
} as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

/** The `status` label values. */
export const Status = {
  Success: REQUEST_STATUS_SUCCESS,
  Error: REQUEST_STATUS_ERROR,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/**
 * The `error_type` label values (opt-in, `errorType: true`); a successful
 * request has the empty `error_type`.
 */
export const ErrorType = {
  /** A 4xx answer other than those below: the request was invalid. */
  Validation: 'validation',
  /** 404: e.g. an unknown model. */
  NotFound: 'not_found',
  /** 429 or 529: too many requests. */
  Overload: 'overload',
  /** 503: the service is unavailable. */
  Unavailable: 'unavailable',
  /** 501: not implemented. */
  NotImplemented: 'not_implemented',
  /** The client went away before the response ended (or 499 in the `dynamo-frontend` schema). */
  Cancelled: 'cancelled',
  /** The answer took too long (reported by the handler). */
  ResponseTimeout: 'response_timeout',
  /** Anything else: a 5xx, a crash, a stream that failed. */
  Internal: 'internal',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * The `finish_reason` label values: why an answer ended, as OpenAI names it
 * (a Responses API answer's status is read into the same names).
 */
export const FinishReason = {
  /** The model ended its answer (or met a stop sequence). */
  Stop: 'stop',
  /** The answer was cut at `max_tokens`: it looks like a success, and is not whole. */
  Length: 'length',
  /** The model called tools: an agent step. */
  ToolCalls: 'tool_calls',
  /** The answer was withheld or cut by a content filter. */
  ContentFilter: 'content_filter',
  /** The legacy `function_call`. */
  FunctionCall: 'function_call',
  /** A reason the API does not name (vLLM's `abort`, a provider's own). */
  Other: 'other',
  /** The answer gave none: it failed, its client left, or it is not a generation (embeddings). */
  None: 'none',
} as const;
export type FinishReason = (typeof FinishReason)[keyof typeof FinishReason];

/** The finish reasons of one request's choices tell its own by this order: the first one any choice gave. */
const FINISH_REASON_ORDER: readonly FinishReason[] = [
  FinishReason.ContentFilter,
  FinishReason.Length,
  FinishReason.ToolCalls,
  FinishReason.FunctionCall,
  FinishReason.Other,
  FinishReason.Stop,
  FinishReason.None,
];

/** The `finish_reason` label value of a reason an answer gave: its own if OpenAI names it, else `other`. */
export function finishReasonLabel(reason: string): FinishReason {
  return reason !== FinishReason.None && FINISH_REASON_ORDER.includes(reason as FinishReason)
    ? (reason as FinishReason)
    : FinishReason.Other;
}

/** Of two finish reasons of one request (several choices, `n > 1`), the one that tells more: `length` over `stop`. */
export function tellingFinishReason(a: FinishReason, b: FinishReason): FinishReason {
  return FINISH_REASON_ORDER.indexOf(a) <= FINISH_REASON_ORDER.indexOf(b) ? a : b;
}

/** The `outcome` label values of a tool call an answer made. */
export const ToolCallOutcome = {
  /** A tool of the request, with arguments that parse as JSON. */
  Ok: 'ok',
  /** Arguments that do not parse as JSON (or longer than the reader keeps). */
  InvalidArguments: 'invalid_arguments',
  /** A name that is not among the request's `tools`. */
  UnknownTool: 'unknown_tool',
} as const;
export type ToolCallOutcome = (typeof ToolCallOutcome)[keyof typeof ToolCallOutcome];

/**
 * Returns `outcome` if it is a tool call's `outcome` label value.
 * @throws TypeError naming the bad value otherwise.
 */
export function assertToolCallOutcome(outcome: unknown): ToolCallOutcome {
  const outcomes: readonly unknown[] = Object.values(ToolCallOutcome);
  if (!outcomes.includes(outcome)) {
    throw new TypeError(
      `nestjs-llm-metrics: invalid tool call outcome ${describeValue(outcome)}: it is one of ${outcomes.map((value) => `"${value}"`).join(', ')}`,
    );
  }
  return outcome as ToolCallOutcome;
}

/** The `slo` label values: each service-level objective of the `slo` option, and `all` of them. */
export const SloObjective = {
  TimeToFirstToken: 'time_to_first_token',
  TimePerOutputToken: 'time_per_output_token',
  Duration: 'duration',
  /** Every objective that applied was met, and the request succeeded. */
  All: 'all',
} as const;
export type SloObjective = (typeof SloObjective)[keyof typeof SloObjective];

/** The `outcome` label values of a service-level objective. */
export const SloOutcome = { Met: 'met', Missed: 'missed' } as const;
export type SloOutcome = (typeof SloOutcome)[keyof typeof SloOutcome];

/** The `model` label value recorded when the request's model cannot be used as a label. */
export const UNKNOWN_MODEL = 'unknown_model';

/** What an `endpoint` label value matches. */
export const ENDPOINT_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Returns `endpoint` if it can be an `endpoint` label value.
 * @throws TypeError naming the bad value otherwise.
 */
export function assertEndpointName(endpoint: unknown): EndpointName {
  if (typeof endpoint !== 'string' || !ENDPOINT_NAME.test(endpoint)) {
    throw new TypeError(
      `nestjs-llm-metrics: invalid endpoint ${describeValue(endpoint)}: ` + `an endpoint name must match ${ENDPOINT_NAME}`,
    );
  }
  return endpoint;
}
