import { SloObjective, SloOutcome } from '../labels/label-values.js';
import type { ResolvedSloTargets } from '../options/slo-options.js';
import type { EndpointCounts, RequestSeries } from './request-series.js';

/** What a finished request measured, as its service-level objectives read it. */
export interface ObjectiveInputs {
  readonly durationSeconds: number;
  /** A stream's time to its first token; none for a unary request, or a stream without output. */
  readonly timeToFirstTokenSeconds: number | undefined;
  /** Its output tokens: the usage's, else those counted; none if unknown. */
  readonly outputTokens: number | undefined;
  readonly succeeded: boolean;
}

/** One objective a request's value is known for, and whether the value met its target (at most the target: as a histogram's `le` bucket counts it). */
export interface JudgedObjective {
  readonly objective: SloObjective;
  readonly met: boolean;
}

/**
 * Judges a request against `targets`: each objective whose value is known
 * (time to first token at its first token; time per output token as
 * (duration − time to first token) ÷ (output tokens − 1), for a stream of
 * two tokens or more; the duration always), then `all`: met when the
 * request succeeded and met every objective judged.
 */
export function judgeObjectives(targets: ResolvedSloTargets, inputs: ObjectiveInputs): JudgedObjective[] {
  const { durationSeconds, timeToFirstTokenSeconds: ttft, outputTokens } = inputs;
  const judged: JudgedObjective[] = [];
  const judge = (objective: SloObjective, target: number | undefined, value: number | undefined) => {
    if (target !== undefined && value !== undefined) {
      judged.push({ objective, met: value <= target });
    }
  };
  judge(SloObjective.TimeToFirstToken, targets.timeToFirstToken, ttft);
  const perToken =
    ttft !== undefined && outputTokens !== undefined && outputTokens > 1 ? (durationSeconds - ttft) / (outputTokens - 1) : undefined;
  judge(SloObjective.TimePerOutputToken, targets.timePerOutputToken, perToken);
  judge(SloObjective.Duration, targets.duration, durationSeconds);
  judged.push({ objective: SloObjective.All, met: inputs.succeeded && judged.every(({ met }) => met) });
  return judged;
}

/** Counts a finished request under each objective judged, met or missed, in `counts`, and its output tokens as goodput in `series` if it met them all; returns what it judged. */
export function countObjectives(
  targets: ResolvedSloTargets,
  inputs: ObjectiveInputs,
  counts: EndpointCounts,
  series: RequestSeries,
): JudgedObjective[] {
  const judged = judgeObjectives(targets, inputs);
  for (const { objective, met } of judged) {
    counts.countObjective(objective, met ? SloOutcome.Met : SloOutcome.Missed);
  }
  const { outputTokens } = inputs;
  if (judged[judged.length - 1].met && outputTokens !== undefined && outputTokens > 0) {
    series.countGoodputTokens(outputTokens);
  }
  return judged;
}
