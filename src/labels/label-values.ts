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

/** The `model` label value recorded when the request's model cannot be used as a label. */
export const UNKNOWN_MODEL = 'unknown_model';

const ENDPOINT_NAME = /^[a-z][a-z0-9_]*$/;

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
