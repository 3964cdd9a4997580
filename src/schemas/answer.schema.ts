import type { BucketsOption } from './buckets.js';
import type { MetricSpec } from './schema.js';

/**
 * The metrics read from what an answer says (the `answerMetrics` option),
 * after a schema's own, under the same names in both schemas: the buckets of
 * time to first content token are the schema's of time to first token, and
 * the cached prompt tokens are counted by `cachedRule`, as the schema's
 * input lengths are, so that their ratio is the cache's hit ratio.
 */
export function answerMetrics(
  timeToFirstContentTokenBuckets: BucketsOption,
  cachedRule: 'cachedPromptTokens' | 'cachedPromptTokensOnSuccess',
): MetricSpec[] {
  return [
    {
      rule: 'finishReasons',
      suffix: 'finish_reasons_total',
      type: 'counter',
      help: 'Total number of LLM requests by the reason their answer finished',
      labels: ['model', 'endpoint', 'finish_reason'],
      answer: 'finishReasons',
    },
    {
      rule: 'toolCalls',
      suffix: 'tool_calls_total',
      type: 'counter',
      help: 'Total number of tool calls in LLM answers, by outcome',
      labels: ['model', 'endpoint', 'outcome'],
      answer: 'toolCalls',
    },
    {
      rule: 'timeToFirstContentToken',
      suffix: 'time_to_first_content_token_seconds',
      type: 'histogram',
      help: 'Time to first content token (the first output after any reasoning) in seconds',
      labels: ['model'],
      buckets: { key: 'timeToFirstContentToken', defaults: timeToFirstContentTokenBuckets },
      tokens: true,
      answer: 'timeToFirstContentToken',
    },
    {
      rule: 'reasoningTokens',
      suffix: 'reasoning_tokens_total',
      type: 'counter',
      help: 'Total number of reasoning tokens generated',
      labels: ['model'],
      tokens: true,
      answer: 'reasoningTokens',
    },
    {
      rule: cachedRule,
      suffix: 'cached_prompt_tokens_total',
      type: 'counter',
      help: 'Total number of prompt tokens served from the prefix cache',
      labels: ['model'],
      tokens: true,
      answer: 'cachedTokens',
    },
  ];
}
