/** What a provider name matches: `openai`, `azure.ai.openai`, `mistral_ai`, `my-vllm` (at most 64 characters). */
export const PROVIDER_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
/** The `provider` label value of a provider that is not recorded under its own name. */
export const OTHER_PROVIDER = 'other';
/** The `provider` label value of the tokens of a request that called no upstream: it answered itself. */
export const LOCAL_PROVIDER = 'local';
/** How many provider names are recorded as themselves when the `upstream` option lists none. */
export const DEFAULT_MAX_PROVIDERS = 16;

/**
 * Turns the provider a `fetch()` was made for into a bounded label value:
 * a configured name (the `upstream` option's, those `prices` names), or,
 * without a list, one of the first 16 valid names seen; `other` otherwise.
 */
export class ProviderLabelPolicy {
  private readonly admitted: Set<string>;

  constructor(
    /** The providers the `upstream` option lists; `undefined`: any, up to the cap. */
    private readonly configured: readonly string[] | undefined,
    priced: readonly string[],
  ) {
    this.admitted = new Set([...(configured ?? []), ...priced]);
  }

  /** The label value of `provider`, admitting it if there is room. */
  resolve(provider: unknown): string {
    if (typeof provider !== 'string' || !PROVIDER_NAME.test(provider)) {
      return OTHER_PROVIDER;
    }
    if (this.admitted.has(provider)) {
      return provider;
    }
    if (this.configured !== undefined || this.admitted.size >= DEFAULT_MAX_PROVIDERS) {
      return OTHER_PROVIDER;
    }
    this.admitted.add(provider);
    return provider;
  }
}
