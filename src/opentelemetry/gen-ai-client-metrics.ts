import type { ErrorType, Status } from '../labels/label-values.js';
import { REQUEST_STATUS_ERROR } from '../labels/label-values.js';
import type { TokenUsage } from '../openai/openai-payload.js';
import { GEN_AI_BUCKETS, type HistogramLike, type MeterLike, advisedHistogram, tokenUsageHistogram } from './gen-ai-metrics.js';

/** What an upstream call is, as the client metrics tell it. */
export interface UpstreamCallInfo {
  /** `gen_ai.operation.name` of its path (`chat`, `text_completion`, `embeddings`); none for other paths. */
  readonly operation: string | undefined;
  /** The `provider` label value. */
  readonly provider: string;
  /** The `model` label value of the model it asked for. */
  readonly model: string;
}

/** What a finished upstream call measured. */
export interface FinishedUpstreamCall extends UpstreamCallInfo {
  readonly status: Status;
  /** `''` on success. */
  readonly errorType: ErrorType | '';
  readonly durationSeconds: number;
  readonly usage: TokenUsage | undefined;
}

/** Hears each upstream call's output chunks and its end. */
export interface UpstreamCallListener {
  /** A chunk of output of a stream: `seconds` since the call started (the first) or since the chunk before. */
  outputChunk(call: UpstreamCallInfo, seconds: number, first: boolean): void;
  finished(call: FinishedUpstreamCall): void;
}

/**
 * Records each upstream call as the GenAI semantic conventions' client
 * metrics (semantic-conventions-genai, `docs/gen-ai/gen-ai-metrics.md` at
 * 004902b): `gen_ai.client.operation.duration` (with `error.type` on
 * failures), `gen_ai.client.operation.time_to_first_chunk` and
 * `.time_per_output_chunk` for streams, `gen_ai.client.token.usage` by
 * `gen_ai.token.type` when the call returned its usage. A call to a path that
 * is not a GenAI operation (listing models, files) is not recorded.
 */
export class GenAiClientMetrics implements UpstreamCallListener {
  private readonly duration: HistogramLike;
  private readonly timeToFirstChunk: HistogramLike;
  private readonly timePerOutputChunk: HistogramLike;
  private readonly tokenUsage: HistogramLike;

  constructor(meter: MeterLike) {
    this.duration = advisedHistogram(
      meter,
      'gen_ai.client.operation.duration',
      's',
      'GenAI operation duration.',
      GEN_AI_BUCKETS.requestDuration,
    );
    this.timeToFirstChunk = advisedHistogram(
      meter,
      'gen_ai.client.operation.time_to_first_chunk',
      's',
      'Time to receive the first chunk, measured from when the client issues the generation request to when the first chunk is received in the response stream.',
      GEN_AI_BUCKETS.requestDuration,
    );
    this.timePerOutputChunk = advisedHistogram(
      meter,
      'gen_ai.client.operation.time_per_output_chunk',
      's',
      'Time per output chunk, recorded for each chunk received after the first one, measured as the time elapsed from the end of the previous chunk to the end of the current chunk.',
      GEN_AI_BUCKETS.requestDuration,
    );
    this.tokenUsage = tokenUsageHistogram(meter);
  }

  outputChunk(call: UpstreamCallInfo, seconds: number, first: boolean): void {
    const attributes = attributesOf(call);
    if (attributes !== undefined) {
      (first ? this.timeToFirstChunk : this.timePerOutputChunk).record(seconds, attributes);
    }
  }

  finished(call: FinishedUpstreamCall): void {
    const attributes = attributesOf(call);
    if (attributes === undefined) {
      return;
    }
    this.duration.record(
      call.durationSeconds,
      call.status === REQUEST_STATUS_ERROR ? { ...attributes, 'error.type': call.errorType } : attributes,
    );
    const { prompt_tokens: input, completion_tokens: output } = call.usage ?? {};
    if (input !== undefined) {
      this.tokenUsage.record(input, { ...attributes, 'gen_ai.token.type': 'input' });
    }
    if (output !== undefined) {
      this.tokenUsage.record(output, { ...attributes, 'gen_ai.token.type': 'output' });
    }
  }
}

/** The conventions' attributes of a call (all bounded: label values); none for a call that is not a GenAI operation. */
function attributesOf(call: UpstreamCallInfo): Record<string, string> | undefined {
  return call.operation === undefined
    ? undefined
    : { 'gen_ai.operation.name': call.operation, 'gen_ai.provider.name': call.provider, 'gen_ai.request.model': call.model };
}
