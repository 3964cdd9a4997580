import { PROVIDER_NAME, type ProviderLabelPolicy } from '../labels/provider-label.policy.js';
import { MAX_READ_BODY_LENGTH, modelNamedIn } from '../openai/openai-payload.js';
import { invalidOption, isObject } from '../options/option-error.js';
import { UpstreamCall, type UpstreamContext, operationOfPath } from './upstream-call.js';
import type { UpstreamLink, UpstreamScope } from './upstream-link.js';
import type { UpstreamSeries } from './upstream-series.js';

/** The `fetch` of the platform (undici's in Node.js), or one with its signature. */
export type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];
type FetchInit = Parameters<Fetch>[1];

/** The `openai` client's header that counts the retries of a request (0 on its first attempt). */
const RETRY_COUNT_HEADER = 'x-stainless-retry-count';
/** Statuses whose responses have no body: `new Response()` refuses one. */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** Options of `LlmMetricsService.fetch()`. */
export interface UpstreamFetchOptions {
  /**
   * The provider the calls go to: its `provider` label value (bounded by the
   * `upstream` option) and `gen_ai.provider.name`, e.g. `openai`, `anthropic`,
   * `aws.bedrock`, or your own (`vllm`).
   */
  provider: string;
}

/** The series of an upstream call of `model` (as its request body names it) to `provider`, for the request of `link` if any. */
export type UpstreamSeriesLookup = (model: unknown, provider: string, link: UpstreamLink | undefined) => UpstreamSeries;

function urlOf(input: FetchInput): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** The path of `url` (no query or fragment), read without parsing the URL. */
function pathOf(url: string): string {
  const path = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1];
  return path ?? '';
}

/** Whether the request is a retry of an earlier attempt, as the `openai` client's header counts them. */
function isRetry(input: FetchInput, init: FetchInit): boolean {
  const headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
  if (headers === undefined) {
    return false;
  }
  // A `Headers` (the `openai` client's) is read as it is; any other form is made one.
  const count = Number((headers instanceof Headers ? headers : new Headers(headers)).get(RETRY_COUNT_HEADER) ?? 0);
  return Number.isSafeInteger(count) && count > 0;
}

/** The model a JSON request body names, if it is text. */
function modelOfBody(init: FetchInit): unknown {
  const body = init?.body;
  return typeof body === 'string' && body.length <= MAX_READ_BODY_LENGTH ? modelNamedIn(body) : undefined;
}

/**
 * Makes instrumented `fetch` functions: each call is recorded as an upstream
 * call of its provider (linked to the tracked request running, if any), its
 * body observed as the caller reads it, chunk by chunk, never buffered nor
 * held back; the request goes out unchanged, the caller's abort signal with it.
 */
export class UpstreamRecorder {
  constructor(
    private readonly scope: UpstreamScope,
    private readonly providers: ProviderLabelPolicy,
    private readonly seriesFor: UpstreamSeriesLookup,
    private readonly context: UpstreamContext,
  ) {}

  /**
   * `fetchImpl` (default: the global `fetch`, looked up at each call), recording its calls as calls to `options.provider`.
   * @throws TypeError if the provider is not a provider's name.
   */
  fetch(fetchImpl: Fetch | undefined, options: UpstreamFetchOptions | undefined): Fetch {
    if (!isObject(options) || typeof options.provider !== 'string' || !PROVIDER_NAME.test(options.provider)) {
      throw invalidOption('fetch().provider', `a provider name matching ${PROVIDER_NAME}, such as "openai"`, options?.provider);
    }
    if (fetchImpl !== undefined && typeof fetchImpl !== 'function') {
      throw invalidOption('fetch()', 'given a fetch function, or none', fetchImpl);
    }
    const provider = this.providers.resolve(options.provider);
    const send: Fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
    const instrumented = async (input: FetchInput, init?: FetchInit): Promise<Response> => {
      const call = this.start(provider, input, init);
      if (call === undefined) {
        return send(input, init);
      }
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      let response: Response;
      try {
        response = await send(input, init);
      } catch (err) {
        call.fetchFailed(err, signal?.aborted === true);
        throw err;
      }
      call.headers(response);
      return observeBody(response, call, signal ?? undefined);
    };
    return instrumented as Fetch;
  }

  /** The record of a call starting now; none if the metrics cannot make one (the call goes out all the same). */
  private start(provider: string, input: FetchInput, init: FetchInit): UpstreamCall | undefined {
    try {
      const link = this.scope.current();
      const series = this.seriesFor(modelOfBody(init), provider, link);
      return new UpstreamCall(series, link, this.context, operationOfPath(pathOf(urlOf(input))), isRetry(input, init));
    } catch (err) {
      try {
        this.context.onRecordError(err);
      } catch {
        // The call goes on, unrecorded.
      }
      return undefined;
    }
  }
}

/** `response`, its body read through `call`: each chunk passed on as it is read, the end, failure or cancel recorded. */
function observeBody(response: Response, call: UpstreamCall, signal: AbortSignal | undefined): Response {
  const body = response.body;
  // A body that is not a web stream, or a status `new Response()` cannot take: recorded as it is, unobserved.
  const status = response.status;
  if (body === null || typeof body.getReader !== 'function' || NULL_BODY_STATUSES.has(status) || !(status >= 200 && status <= 599)) {
    call.bodyEnded();
    return response;
  }
  const reader = body.getReader();
  const observed = new ReadableStream<Uint8Array>(
    {
      // Not an async function: a promise less a chunk.
      pull(controller) {
        return reader.read().then(
          (result) => {
            if (result.done) {
              call.bodyEnded();
              controller.close();
            } else {
              call.chunk(result.value);
              controller.enqueue(result.value);
            }
          },
          (err: unknown) => {
            call.bodyFailed(err, signal?.aborted === true);
            throw err;
          },
        );
      },
      cancel(reason) {
        call.bodyFailed(undefined, signal?.aborted === true);
        return reader.cancel(reason);
      },
    },
    // Nothing read ahead of the caller: its backpressure reaches the provider as before.
    { highWaterMark: 0 },
  );
  const wrapped = new Response(observed, { status: response.status, statusText: response.statusText, headers: response.headers });
  // What `new Response()` cannot set, as the original has it (the `openai` client logs and reports `url`).
  Object.defineProperties(wrapped, {
    url: { value: response.url },
    redirected: { value: response.redirected },
    type: { value: response.type },
  });
  return wrapped;
}
