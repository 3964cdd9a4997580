import { type AllowList, MAX_LABEL_VALUE_LENGTH, allowListPredicate, isUsableLabelValue } from './label-value.js';
import { UNKNOWN_MODEL } from './label-values.js';

/** Longest model name (in UTF-16 code units) recorded as a label value; longer names become `unknown_model`. */
export const MAX_MODEL_NAME_LENGTH = MAX_LABEL_VALUE_LENGTH;
/** Default cap on the number of distinct model label values. */
export const DEFAULT_MAX_MODELS = 100;

/** An allow-list of model names, or a predicate deciding which names are served. */
export type ModelAllowList = AllowList;

export interface ModelLabelPolicyOptions {
  /** Only these models are recorded under their own name. */
  models?: ModelAllowList;
  /** Cap on distinct model names recorded (default 100). */
  maxModels?: number;
}

/**
 * Turns whatever a client sent as its model into a bounded label value: the
 * name itself while it is a usable string, allowed, and among the first
 * `maxModels` distinct names seen; `unknown_model` otherwise.
 *
 * Advanced: exported as the type of `LlmMetricsService.modelLabels` (to peek at
 * the label a name gets, or to hear when the cap is reached); the service
 * makes its own from its options.
 */
export class ModelLabelPolicy {
  private readonly admitted = new Set<string>();
  private readonly isAllowed: (model: string) => boolean;
  /** Whether the allow-list is a predicate, asked for every request (an admitted name of a fixed list needs no second look). */
  private readonly asksEachTime: boolean;
  private readonly maxModels: number;
  private capReachedListener?: (maxModels: number) => void;
  private refusedListener?: (model: string) => void;

  constructor(options: ModelLabelPolicyOptions = {}) {
    this.maxModels = options.maxModels ?? DEFAULT_MAX_MODELS;
    this.isAllowed = allowListPredicate(options.models);
    this.asksEachTime = typeof options.models === 'function';
  }

  /** Called once, the first time a new name is refused because the cap is full. */
  onCapReached(listener: (maxModels: number) => void): void {
    this.capReachedListener = listener;
  }

  /** Called once, the first time a name is refused because the allow-list does not have it. */
  onRefused(listener: (model: string) => void): void {
    this.refusedListener = listener;
  }

  /** The label value for `model`, admitting it towards the cap if it is new. */
  resolve(model: unknown): string {
    if (!this.asksEachTime && typeof model === 'string' && this.admitted.has(model)) {
      return model;
    }
    if (!this.isUsable(model, true)) {
      return UNKNOWN_MODEL;
    }
    if (this.admitted.has(model)) {
      return model;
    }
    if (this.admitted.size >= this.maxModels) {
      this.reportCapReached();
      return UNKNOWN_MODEL;
    }
    this.admitted.add(model);
    return model;
  }

  /** The label value `model` has or would have, without admitting it. */
  peek(model: unknown): string {
    if (!this.isUsable(model)) {
      return UNKNOWN_MODEL;
    }
    return this.admitted.has(model) || this.admitted.size < this.maxModels ? model : UNKNOWN_MODEL;
  }

  /** Model names are recorded as given (control characters included), within the label-value rules and the allow-list, asked each time. */
  private isUsable(model: unknown, reportRefusal = false): model is string {
    if (!isUsableLabelValue(model, true)) {
      return false;
    }
    if (this.isAllowed(model)) {
      return true;
    }
    if (reportRefusal) {
      this.reportRefused(model);
    }
    return false;
  }

  private reportRefused(model: string): void {
    const listener = this.refusedListener;
    if (listener) {
      this.refusedListener = undefined;
      listener(model);
    }
  }

  private reportCapReached(): void {
    const listener = this.capReachedListener;
    if (listener) {
      this.capReachedListener = undefined;
      listener(this.maxModels);
    }
  }
}
