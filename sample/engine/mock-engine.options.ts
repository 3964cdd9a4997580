/** Models the mock engine serves unless told otherwise. */
export const DEFAULT_MOCK_MODELS: readonly string[] = ['mock-llama-3-8b', 'mock-gpt-small'];

/** Pause between two generated tokens unless told otherwise, in milliseconds. */
export const DEFAULT_TOKEN_DELAY_MS = 20;

/** Injection token of the {@link MockEngineOptions}. */
export const MOCK_ENGINE_OPTIONS = Symbol('MOCK_ENGINE_OPTIONS');

/** Settings of the mock LLM engine. */
export interface MockEngineOptions {
  /** Names of the models the engine serves (default {@link DEFAULT_MOCK_MODELS}). */
  models?: readonly string[];
  /** Pause before each token, in milliseconds; `0` generates as fast as possible (default {@link DEFAULT_TOKEN_DELAY_MS}). */
  tokenDelayMs?: number;
  /** Generations the engine runs at once; one more is refused as overloaded (default: no limit). */
  capacity?: number;
  /** Served models that fail every request with this HTTP status (400–599), to see errors in the metrics; a 503 one is not ready. */
  failures?: Readonly<Record<string, number>>;
}
