import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import { type SchemaName, type SloOption, prometheusRules } from '../src/index.js';
import { ruleFileYaml } from '../src/mixin/rules-cli.js';
import { EASY, EASY_TARGETS, HARD, HARD_TARGETS } from './app/slo-targets.js';
import { loadDashboard, panelQueries, panelsOfRow, substitute } from './support/grafana.js';
import { type RunningApp, startApp } from './support/http.js';
import {
  type PrometheusServer,
  type VectorSample,
  pollUntil,
  requirePrometheus,
  startPrometheus,
  targetsUp,
} from './support/prometheus.js';

/*
 * The rules and the Service levels rows of both dashboards against a real
 * Prometheus: two replicas of the sample, one per schema, with targets that
 * known requests meet or miss; Prometheus loads the generated rules of both
 * prefixes, scrapes, evaluates; the recorded attainment must be what the
 * traffic implies.
 */

/** EASY meets every objective, HARD misses every one. */
const SLO: SloOption = { chat_completions: { models: { [EASY]: EASY_TARGETS, [HARD]: HARD_TARGETS } } };
const REPLICAS: { schema: SchemaName; job: string; prefix: string; dashboard: string }[] = [
  { schema: 'dynamo-0.2.1', job: 'llm-0-2-1', prefix: 'nv_llm_http_service_', dashboard: '../grafana/llm-metrics.json' },
  { schema: 'dynamo-frontend', job: 'llm-frontend', prefix: 'dynamo_frontend_', dashboard: '../grafana/llm-metrics-dynamo-frontend.json' },
];

describe('the generated rules and the Service levels rows, against a real Prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-slo-rules-'));
  const apps: RunningApp[] = [];
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    requirePrometheus();
    const ruleFiles: string[] = [];
    for (const { schema } of REPLICAS) {
      const { recording, alerts } = prometheusRules({ schema });
      for (const [name, file] of [
        [`${schema}.rules.yml`, recording],
        [`${schema}.alerts.yml`, alerts],
      ] as const) {
        writeFileSync(join(dir, name), ruleFileYaml(file));
        ruleFiles.push(join(dir, name));
      }
      apps.push(
        await startApp(
          AppModule.register({
            tokenDelayMs: 10,
            models: [EASY, HARD],
            apiKeys: {},
            metrics: { schema, slo: SLO, defaultLabels: { instance: schema } },
          }),
        ),
      );
    }
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      ruleFiles,
      jobs: REPLICAS.map(({ job }, index) => ({ jobName: job, honorLabels: true, targets: [new URL(apps[index].baseUrl).host] })),
    });
    const up = await targetsUp(prometheus, 2);
    expect(up.done).toBe(true);
    // Two rounds, scraped between: per round and replica, each model 2 streams and 2 unary chats.
    for (let round = 1; round <= 2; round++) {
      for (const app of apps) {
        const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
        for (const model of [EASY, HARD]) {
          for (let i = 0; i < 2; i++) {
            const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], stream: true });
            for await (const _ of stream) {
              // read it to its end
            }
            await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] });
          }
        }
      }
      const sent = 8 * round;
      const counted = await pollUntil(
        async () =>
          (await prometheus!.queryVector('sum by (job) (nv_llm_http_service_requests_total or dynamo_frontend_requests_total)')).map(
            (s) => s.value,
          ),
        (values) => values.length === 2 && values.every((value) => value === sent),
        { timeoutMs: 10_000 },
      );
      expect(counted).toEqual({ value: [sent, sent], done: true });
    }
  }, 90_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await Promise.all(apps.map((app) => app.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  /**
   * The samples of `expr` once Prometheus has `count` of them, each finite: the rules evaluate every
   * second, and one evaluated between two scrapes of an idle counter divides 0 by 0.
   */
  const eventually = async (expr: string, count: number): Promise<VectorSample[]> =>
    (
      await pollUntil(
        () => prometheus!.queryVector(expr),
        (samples) => samples.length >= count && samples.every((sample) => Number.isFinite(sample.value)),
        { timeoutMs: 15_000 },
      )
    ).value;

  it('loads every generated rule, each evaluating without error', async () => {
    const answer = await pollUntil(
      async () =>
        (await fetch(`${prometheus!.baseUrl}/api/v1/rules`)).json() as Promise<{
          data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
        }>,
      (rules) => rules.data.groups.flatMap((group) => group.rules).every((rule) => rule.health === 'ok'),
      { timeoutMs: 15_000 },
    );
    const rules = answer.value.data.groups.flatMap((group) => group.rules);
    const expected = REPLICAS.flatMap(({ schema }) => Object.values(prometheusRules({ schema })).flatMap((file) => file.groups[0].rules));
    expect(rules.length).toBe(expected.length);
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });

  it.each(REPLICAS)('records the attainment the traffic implies, per objective, for $schema', async ({ job, prefix }) => {
    const attainment = await eventually(`job_model_endpoint_slo:${prefix}slo_requests:attainment_rate5m{job="${job}"}`, 8);
    const byKey = Object.fromEntries(attainment.map(({ labels, value }) => [`${labels.model} ${labels.slo}`, value]));
    expect(byKey).toEqual({
      [`${EASY} all`]: 1,
      [`${EASY} duration`]: 1,
      [`${EASY} time_per_output_token`]: 1,
      [`${EASY} time_to_first_token`]: 1,
      [`${HARD} all`]: 0,
      [`${HARD} duration`]: 0,
      [`${HARD} time_per_output_token`]: 0,
      [`${HARD} time_to_first_token`]: 0,
    });
    const requests = await eventually(`job_model_endpoint:${prefix}requests:rate5m{job="${job}"}`, 2);
    expect(requests.every((sample) => sample.value > 0)).toBe(true);
  });

  it.each(REPLICAS)("shows the traffic in the Service levels row of $schema's dashboard", async ({ dashboard: file, job }) => {
    const dashboard = loadDashboard(resolve(import.meta.dirname, file));
    const row = panelsOfRow(dashboard, 'Service levels');
    expect(row.map((panel) => panel.title)).toHaveLength(4);
    for (const { panel, refId, expr } of panelQueries({ ...dashboard, panels: row })) {
      const samples = (await eventually(substitute(expr, dashboard), 1)).filter(
        (sample) => sample.labels.job === undefined || sample.labels.job === job,
      );
      const finite = samples.length > 0 && samples.every((sample) => Number.isFinite(sample.value));
      expect({ panel: panel.title, refId, finite }).toEqual({ panel: panel.title, refId, finite: true });
    }
    const attainment = panelQueries({ ...dashboard, panels: row }).find(
      (query) => query.panel.title?.startsWith('SLO attainment') === true,
    )!;
    const all = (await prometheus!.queryVector(substitute(attainment.expr, dashboard))).filter(
      (sample) => sample.labels.job === job && sample.labels.slo === 'all',
    );
    expect(Object.fromEntries(all.map((sample) => [sample.labels.model, sample.value]))).toEqual({ [EASY]: 1, [HARD]: 0 });
  });
});
