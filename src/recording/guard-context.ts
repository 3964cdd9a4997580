import type { FinishedRequest } from '../opentelemetry/gen-ai-metrics.js';
import type { Clock } from '../options/service-options.js';
import type { SloPolicy } from '../options/slo-options.js';
import type { Schema } from '../schemas/schema.js';
import type { ErrorType } from '../labels/label-values.js';
import type { UpstreamScope } from '../gateway/upstream-link.js';

/** A guard not finished yet, as its service sees it. */
export interface OpenGuard {
  markError(errorType: ErrorType): void;
  finish(): void;
}

/** What a guard shares with its service. */
export interface GuardContext {
  readonly schema: Schema;
  /** Called with what each request measured when it finishes (the OpenTelemetry export). */
  readonly onFinished: ((request: FinishedRequest) => void) | undefined;
  readonly clock: Clock;
  /** The guards not finished yet, so that a shutting-down app can finish them. */
  readonly open: Set<OpenGuard>;
  /** Clients that went away before their answer ended. */
  disconnects: number;
  /** Called when recording a metric throws; the guard carries on. */
  readonly onRecordError: (err: unknown) => void;
  /** With request labels: told when a request ends, so that its values' idle time starts. */
  readonly onLabelsReleased: ((labelValues: readonly string[], now: number) => void) | undefined;
  /** Whether the schema counts finish reasons or tool calls, which only the answer's text tells. */
  readonly readsAnswers: boolean;
  /** The service-level objectives (the `slo` option), if any. */
  readonly slo: SloPolicy | undefined;
  /** With the `upstream` option: which request an upstream call is made for. */
  readonly upstreamScope: UpstreamScope | undefined;
}
