import { invalidOption } from '../options/option-error.js';
import { checkPrefix, checkSchema } from '../options/service-options.js';
import type { SchemaName } from '../schemas/schema.js';

/** What the rules are generated for. */
export interface PrometheusRulesOptions {
  /** The schema the metrics are named by (default `'dynamo-0.2.1'`). */
  schema?: SchemaName;
  /** The metric name prefix (default: the schema's, `nv_llm` or `dynamo_frontend`). */
  prefix?: string;
  /** The share of requests each service-level objective is to meet, e.g. `0.99` (default): its error budget is the rest. */
  objective?: number;
  /** The error ratio over 5 minutes above which `LlmHighErrorRatio` fires (default `0.05`). */
  errorRatio?: number;
}

/** A recording or alerting rule, as Prometheus reads it. */
export interface PrometheusRule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rule file's content: its groups. */
export interface PrometheusRuleFile {
  groups: { name: string; interval?: string; rules: PrometheusRule[] }[];
}

/** The windows the attainment is recorded over: those of the burn-rate alerts. */
export const ATTAINMENT_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

/**
 * The multi-window, multi-burn-rate alerts of the Google SRE workbook
 * (chapter 5, table 5-8): a long window that says the budget burns this
 * fast, a short one (a twelfth of it) that says it still does.
 */
const BURN_RATE_ALERTS = [
  {
    alert: 'LlmSloBudgetBurnFast',
    long: '1h',
    short: '5m',
    burn: 14.4,
    for: '2m',
    severity: 'page',
    spent: '2 % of a 30-day budget in an hour',
  },
  {
    alert: 'LlmSloBudgetBurnMedium',
    long: '6h',
    short: '30m',
    burn: 6,
    for: '15m',
    severity: 'page',
    spent: '5 % of a 30-day budget in 6 hours',
  },
  {
    alert: 'LlmSloBudgetBurnSlow',
    long: '3d',
    short: '6h',
    burn: 1,
    for: '1h',
    severity: 'ticket',
    spent: '10 % of a 30-day budget in 3 days',
  },
] as const;

const BY = 'job, model, endpoint';

function checkShare(option: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && value < 1)) {
    throw invalidOption(option, 'a number between 0 and 1 (exclusive)', value);
  }
  return value;
}

/** A number as PromQL and YAML read it back the same: no float noise (1 − 0.99 is 0.010000000000000009). */
function number(value: number): string {
  return String(Number(value.toPrecision(12)));
}

/**
 * The recording and alerting rules of this library's metrics, for `schema`
 * and `prefix`: request rate and error ratio, time to first token and time
 * per output token (the inter-token latency) p50, p90, p99, and the
 * attainment of each service-level objective over the burn-rate windows,
 * recorded by job, model and endpoint; the burn-rate alerts on the
 * attainment, the error-ratio and no-traffic alerts, and requests stuck in
 * flight. The runbook of each alert is `docs/runbook.md`.
 * @throws TypeError naming a bad option.
 */
export function prometheusRules(options: PrometheusRulesOptions = {}): { recording: PrometheusRuleFile; alerts: PrometheusRuleFile } {
  const schema = checkSchema(options.schema);
  const prefix = checkPrefix(options.prefix ?? schema.defaultPrefix);
  const objective = checkShare('objective', options.objective ?? 0.99);
  const errorRatio = checkShare('errorRatio', options.errorRatio ?? 0.05);
  const m = `${prefix}${schema.infix}`;
  const level = (labels: string, name: string, operation: string) => `${labels}:${m}${name}:${operation}`;
  const requestsRate = level('job_model_endpoint', 'requests', 'rate5m');
  const errorsRatio = level('job_model_endpoint', 'requests', 'error_ratio_rate5m');
  const attainment = (window: string) => level('job_model_endpoint_slo', 'slo_requests', `attainment_rate${window}`);
  const quantiles = (histogram: string) =>
    [0.5, 0.9, 0.99].map((q) => ({
      record: level('job_model', histogram, `p${Math.round(q * 100)}_rate5m`),
      expr: `histogram_quantile(${q}, sum by (job, model, le) (rate(${m}${histogram}_bucket[5m])))`,
    }));
  const requestsAll = `sum by (${BY}) (rate(${m}requests_total[5m]))`;
  const recording: PrometheusRule[] = [
    { record: requestsRate, expr: requestsAll },
    {
      record: errorsRatio,
      // `or … * 0`: a model without errors has no `error` series, and its error ratio is 0, not absent.
      expr: `(sum by (${BY}) (rate(${m}requests_total{status="error"}[5m])) or ${requestsAll} * 0) / ${requestsAll}`,
    },
    ...quantiles('time_to_first_token_seconds'),
    ...quantiles('inter_token_latency_seconds'),
    ...ATTAINMENT_WINDOWS.map((window) => {
      const all = `sum by (${BY}, slo) (rate(${m}slo_requests_total[${window}]))`;
      // `or … * 0`: an objective no request met has no `met` series, and its attainment is 0, not absent.
      return {
        record: attainment(window),
        expr: `(sum by (${BY}, slo) (rate(${m}slo_requests_total{outcome="met"}[${window}])) or ${all} * 0) / ${all}`,
      };
    }),
  ];
  const budget = 1 - objective;
  const alerts: PrometheusRule[] = [
    ...BURN_RATE_ALERTS.map(({ alert, long, short, burn, for: duration, severity, spent }) => ({
      alert,
      expr: `(1 - ${attainment(long)}) > ${number(burn * budget)} and (1 - ${attainment(short)}) > ${number(burn * budget)}`,
      for: duration,
      labels: { severity },
      annotations: {
        summary: `{{ $labels.model }} on {{ $labels.endpoint }} burns the error budget of its {{ $labels.slo }} objective ${burn}× as fast as it can afford`,
        description:
          `Over ${long} and ${short}, more than ${number(burn * budget * 100)} % of requests missed the ${number(objective * 100)} % objective: ` +
          `${spent}.`,
        runbook: `docs/runbook.md#${alert.toLowerCase()}`,
      },
    })),
    {
      alert: 'LlmHighErrorRatio',
      expr: `${errorsRatio} > ${number(errorRatio)}`,
      for: '5m',
      labels: { severity: 'page' },
      annotations: {
        summary: `{{ $labels.model }} on {{ $labels.endpoint }} fails more than ${number(errorRatio * 100)} % of its requests`,
        description: `More than ${number(errorRatio * 100)} % of requests ended with status="error" over 5 minutes, for 5 minutes.`,
        runbook: 'docs/runbook.md#llmhigherrorratio',
      },
    },
    {
      alert: 'LlmNoTraffic',
      expr: `sum by (job) (rate(${m}requests_total[15m])) == 0`,
      for: '15m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: '{{ $labels.job }} served no LLM request for 30 minutes',
        description: 'The requests counter of the job did not grow over 15 minutes, for 15 minutes.',
        runbook: 'docs/runbook.md#llmnotraffic',
      },
    },
    {
      alert: 'LlmRequestsStuckInFlight',
      expr: `sum by (job, model) (${m}inflight_requests) > 0 and sum by (job, model) (increase(${m}requests_total[15m])) == 0`,
      for: '15m',
      labels: { severity: 'page' },
      annotations: {
        summary: '{{ $labels.model }} has requests in flight and finished none for 30 minutes',
        description: 'The in-flight gauge stayed above zero while no request of the model ended: hung streams or a stuck engine.',
        runbook: 'docs/runbook.md#llmrequestsstuckinflight',
      },
    },
  ];
  return {
    recording: { groups: [{ name: `${m}recording`, rules: recording }] },
    alerts: { groups: [{ name: `${m}alerts`, rules: alerts }] },
  };
}
