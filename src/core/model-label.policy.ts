import { UNKNOWN_MODEL } from './labels.js';

/** A lone UTF-16 surrogate: it cannot be encoded in UTF-8, so two such names would print as one series. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Longest model name (in UTF-16 code units) recorded as a label value; longer names become `unknown_model`. */
export const MAX_MODEL_NAME_LENGTH = 256;
/** Default cap on the number of distinct model label values. */
export const DEFAULT_MAX_MODELS = 100;

/** An allow-list of model names, or a predicate deciding which names are served. */
export type ModelAllowList = readonly string[] | ((model: string) => boolean);

/** The predicate of an allow-list: membership of its names, or the function itself; with none, everything is allowed. */
export function allowListPredicate(list: ModelAllowList | undefined): (value: string) => boolean {
  if (typeof list === 'function') {
    return list;
  }
  if (list) {
    const allowed = new Set(list);
    return (value) => allowed.has(value);
  }
  return () => true;
}

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
 */
export class ModelLabelPolicy {
  private readonly admitted = new Set<string>();
  private readonly isAllowed: (model: string) => boolean;
  private readonly maxModels: number;
  private capReachedListener?: (maxModels: number) => void;

  constructor(options: ModelLabelPolicyOptions = {}) {
    this.maxModels = options.maxModels ?? DEFAULT_MAX_MODELS;
    this.isAllowed = allowListPredicate(options.models);
  }

  /** Called once, the first time a new name is refused because the cap is full. */
  onCapReached(listener: (maxModels: number) => void): void {
    this.capReachedListener = listener;
  }

  /** The label value for `model`, admitting it towards the cap if it is new. */
  resolve(model: unknown): string {
    if (!this.isUsable(model)) {
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

  private isUsable(model: unknown): model is string {
    if (typeof model !== 'string' || model.length === 0 || model.length > MAX_MODEL_NAME_LENGTH || LONE_SURROGATE.test(model)) {
      return false;
    }
    try {
      return this.isAllowed(model) === true;
    } catch {
      return false;
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
