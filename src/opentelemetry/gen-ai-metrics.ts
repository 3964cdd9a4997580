import type { EndpointName, ErrorType, RequestType, SloObjective, Status } from '../labels/label-values.js';
import { REQUEST_STATUS_ERROR, REQUEST_STATUS_SUCCESS, REQUEST_TYPE_STREAM } from '../labels/label-values.js';
import type { ModelLabelPolicy } from '../labels/model-label.policy.js';

/**
 * The part of OpenTelemetry's `MeterProvider` (`@opentelemetry/api`) this
 * library uses. Written out, so that the types of this package do not need
 * the optional `@opentelemetry/api` installed; its `MeterProvider` is one.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

/** The part of OpenTelemetry's `Meter` this library uses. */
export interface MeterLike {
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): { record(value: number, attributes?: Record<string, string>): void };
  createCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { add(value: number, attributes?: Record<string, string>): void };
}

export type HistogramLike = ReturnType<MeterLike['createHistogram']>;
type CounterLike = ReturnType<MeterLike['createCounter']>;

/** The request labels each instrument carries as attributes: those of the Prometheus metric it matches. */
export interface GenAiRequestLabels {
  readonly duration: readonly string[];
  readonly timeToFirstToken: readonly string[];
  readonly timePerOutputToken: readonly string[];
  readonly inputTokens: readonly string[];
  readonly outputTokens: readonly string[];
  readonly sloRequests: readonly string[];
  readonly goodputTokens: readonly string[];
}

const NO_REQUEST_LABELS: GenAiRequestLabels = {
  duration: [],
  timeToFirstToken: [],
  timePerOutputToken: [],
  inputTokens: [],
  outputTokens: [],
  sloRequests: [],
  goodputTokens: [],
};

/** `attributes`, with the request labels `names` of `request` added, if any. */
function withRequestLabels(attributes: Record<string, string>, names: readonly string[], request: FinishedRequest): Record<string, string> {
  if (names.length === 0) {
    return attributes;
  }
  const extended = { ...attributes };
  for (const name of names) {
    extended[name] = request.labels[name];
  }
  return extended;
}

/** What a finished request measured, as `InflightGuard` hands it over. */
export interface FinishedRequest {
  readonly endpoint: EndpointName;
  /** The `model` label value: the model-label rules applied. */
  readonly model: string;
  /** The values of the request labels (the `labels` option), by name: their rules applied. */
  readonly labels: Readonly<Record<string, string>>;
  readonly requestType: RequestType;
  readonly status: Status;
  readonly errorType: ErrorType | '';
  readonly durationSeconds: number;
  /** A stream's time to its first token, if it had one. */
  readonly timeToFirstTokenSeconds: number | undefined;
  /** A stream's time per output token after the first chunk, if more came. */
  readonly timePerOutputTokenSeconds: number | undefined;
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  /** The model the answer names, as the answer gives it. */
  readonly responseModel: string | undefined;
  /** Its service-level objectives (the `slo` option), met or missed, `all` last; none without targets. */
  readonly objectives: readonly { readonly objective: SloObjective; readonly met: boolean }[] | undefined;
  /** Whether it made upstream calls (the `upstream` option): their token usage is theirs, recorded by them. */
  readonly calledUpstream: boolean;
}

/** The semantic conventions' `gen_ai.operation.name` of each known endpoint; a custom endpoint keeps its name. */
export const GEN_AI_OPERATIONS: Readonly<Record<string, string>> = {
  chat_completions: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  responses: 'chat',
};

/** The bucket boundaries the GenAI semantic conventions advise for each instrument. */
export const GEN_AI_BUCKETS = {
  requestDuration: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  timeToFirstToken: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
  timePerOutputToken: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
  tokenUsage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
} as const;

/** A histogram of `meter` with the bucket boundaries the conventions advise for it. */
export function advisedHistogram(
  meter: MeterLike,
  name: string,
  unit: string,
  description: string,
  boundaries: readonly number[],
): HistogramLike {
  return meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...boundaries] } });
}

/** `gen_ai.client.token.usage`, the one token instrument of the conventions: the server side's and the client side's, made the same so that the SDK keeps one. */
export function tokenUsageHistogram(meter: MeterLike): HistogramLike {
  return advisedHistogram(
    meter,
    'gen_ai.client.token.usage',
    '{token}',
    'Number of input and output tokens used.',
    GEN_AI_BUCKETS.tokenUsage,
  );
}

/** The name of the Meter the instruments are created with: this package's. */
export const METER_NAME = 'nestjs-llm-metrics';

/**
 * Records each finished request as the OpenTelemetry GenAI semantic
 * conventions' model-server metrics (semantic-conventions-genai,
 * `docs/gen-ai/gen-ai-metrics.md`): `gen_ai.server.request.duration` for
 * every request (with `error.type` on failures), `gen_ai.server.time_to_first_token`
 * and `gen_ai.server.time_per_output_token` for successful streams, and the
 * conventions' token-usage instrument, `gen_ai.client.token.usage`, by
 * `gen_ai.token.type`, when the usage is known.
 */
export class GenAiMetrics {
  private readonly requestDuration: HistogramLike;
  private readonly timeToFirstToken: HistogramLike;
  private readonly timePerOutputToken: HistogramLike;
  private readonly tokenUsage: HistogramLike;
  /** This library's own instruments of the service-level objectives (the conventions define none), with the `slo` option. */
  private readonly slo: { requests: CounterLike; goodputTokens: CounterLike } | undefined;

  constructor(
    meter: MeterLike,
    private readonly providerName: string,
    private readonly modelLabels: ModelLabelPolicy,
    private readonly requestLabels: GenAiRequestLabels = NO_REQUEST_LABELS,
    withSlo = false,
  ) {
    this.requestDuration = advisedHistogram(
      meter,
      'gen_ai.server.request.duration',
      's',
      'Generative AI server request duration such as time-to-last byte or last output token.',
      GEN_AI_BUCKETS.requestDuration,
    );
    this.timeToFirstToken = advisedHistogram(
      meter,
      'gen_ai.server.time_to_first_token',
      's',
      'Time to generate first token for successful responses.',
      GEN_AI_BUCKETS.timeToFirstToken,
    );
    this.timePerOutputToken = advisedHistogram(
      meter,
      'gen_ai.server.time_per_output_token',
      's',
      'Time per output token generated after the first token for successful responses.',
      GEN_AI_BUCKETS.timePerOutputToken,
    );
    this.tokenUsage = tokenUsageHistogram(meter);
    this.slo = withSlo
      ? {
          requests: meter.createCounter('nestjs_llm_metrics.slo.requests', {
            unit: '{request}',
            description: 'LLM requests by whether they met each service-level objective.',
          }),
          goodputTokens: meter.createCounter('nestjs_llm_metrics.goodput.tokens', {
            unit: '{token}',
            description: 'Output tokens of LLM requests that met every service-level objective.',
          }),
        }
      : undefined;
  }

  /** Records what `request` measured. */
  record(request: FinishedRequest): void {
    const attributes: Record<string, string> = {
      'gen_ai.operation.name': GEN_AI_OPERATIONS[request.endpoint] ?? request.endpoint,
      'gen_ai.provider.name': this.providerName,
      'gen_ai.request.model': request.model,
    };
    if (request.responseModel !== undefined) {
      attributes['gen_ai.response.model'] = this.modelLabels.peek(request.responseModel);
    }
    const labels = this.requestLabels;
    const duration = withRequestLabels(attributes, labels.duration, request);
    this.requestDuration.record(
      request.durationSeconds,
      request.status === REQUEST_STATUS_ERROR ? { ...duration, 'error.type': request.errorType } : duration,
    );
    if (request.status === REQUEST_STATUS_SUCCESS && request.requestType === REQUEST_TYPE_STREAM) {
      if (request.timeToFirstTokenSeconds !== undefined) {
        this.timeToFirstToken.record(request.timeToFirstTokenSeconds, withRequestLabels(attributes, labels.timeToFirstToken, request));
      }
      if (request.timePerOutputTokenSeconds !== undefined) {
        this.timePerOutputToken.record(
          request.timePerOutputTokenSeconds,
          withRequestLabels(attributes, labels.timePerOutputToken, request),
        );
      }
    }
    if (request.inputTokens !== undefined && !request.calledUpstream) {
      this.tokenUsage.record(request.inputTokens, {
        ...withRequestLabels(attributes, labels.inputTokens, request),
        'gen_ai.token.type': 'input',
      });
    }
    if (request.outputTokens !== undefined && !request.calledUpstream) {
      this.tokenUsage.record(request.outputTokens, {
        ...withRequestLabels(attributes, labels.outputTokens, request),
        'gen_ai.token.type': 'output',
      });
    }
    if (this.slo !== undefined && request.objectives !== undefined) {
      this.recordObjectives(this.slo, request.objectives, attributes, request);
    }
  }

  /** Each objective judged, as `slo.objective` and `slo.outcome` (the Prometheus counter's `slo` and `outcome`), and the goodput. */
  private recordObjectives(
    slo: NonNullable<GenAiMetrics['slo']>,
    objectives: NonNullable<FinishedRequest['objectives']>,
    attributes: Record<string, string>,
    request: FinishedRequest,
  ): void {
    const labelled = withRequestLabels(attributes, this.requestLabels.sloRequests, request);
    for (const { objective, met } of objectives) {
      slo.requests.add(1, { ...labelled, 'slo.objective': objective, 'slo.outcome': met ? 'met' : 'missed' });
    }
    if (objectives[objectives.length - 1].met && request.outputTokens !== undefined && request.outputTokens > 0) {
      slo.goodputTokens.add(request.outputTokens, withRequestLabels(attributes, this.requestLabels.goodputTokens, request));
    }
  }
}
