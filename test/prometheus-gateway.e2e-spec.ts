import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import OpenAI from 'openai';
import { AppModule } from '../sample/app.module.js';
import type { PricesOption, SchemaName } from '../src/index.js';
import { type PanelQuery, loadDashboard, panelQueries, panelsOfRow, substitute } from './support/grafana.js';
import { type RunningApp, startApp } from './support/http.js';
import {
  type PrometheusServer,
  type VectorSample,
  pollUntil,
  requirePrometheus,
  startPrometheus,
  targetsUp,
} from './support/prometheus.js';
import { SCRIPTED_USAGE, type ScriptedUpstream, startScriptedUpstream } from './support/scripted-upstream.js';

/*
 * The Gateway rows of both dashboards, and the PromQL of docs/gateway.md,
 * against a real Prometheus: two gateways (one per schema) in front of a
 * scripted upstream that answers, retries a 429 and reports rate limits,
 * driven by the openai client for two tenants; the cost Prometheus holds
 * must be the traffic's, and reconcile with the priced tokens and prices.
 */

const PRICE = { input: 0.15, cachedInput: 0.075, output: 0.6 };
const PRICES: PricesOption = { currency: 'USD', models: { ok: PRICE, flaky: PRICE, slow: PRICE } };
const costOf = (tokens: number) =>
  ((SCRIPTED_USAGE.prompt - SCRIPTED_USAGE.cached) * PRICE.input + SCRIPTED_USAGE.cached * PRICE.cachedInput + tokens * PRICE.output) / 1e6;
const REPLICAS: { schema: SchemaName; job: string; prefix: string; dashboard: string }[] = [
  { schema: 'dynamo-0.2.1', job: 'gateway-0-2-1', prefix: 'nv_llm_http_service_', dashboard: '../grafana/llm-metrics.json' },
  {
    schema: 'dynamo-frontend',
    job: 'gateway-frontend',
    prefix: 'dynamo_frontend_',
    dashboard: '../grafana/llm-metrics-dynamo-frontend.json',
  },
];
/**
 * Per gateway and round: acme's 4 requests (2 unary, a stream, a retried 429), beta's one, and one of a model priced
 * nowhere. Two rounds, a scrape between them: a series Prometheus first sees at its final value has no rate.
 */
const ROUNDS = 2;
const REQUESTS = 6 * ROUNDS;
const COST = { acme: ROUNDS * (costOf(4) + costOf(6) + costOf(5) + costOf(4)), beta: ROUNDS * costOf(4) };

/** The ```promql blocks of docs/gateway.md, as a user pastes them. */
function docsPromql(): string[] {
  const text = readFileSync(resolve(import.meta.dirname, '../docs/gateway.md'), 'utf8');
  return [...text.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap(([, block]) =>
    block.includes('\n-\n') || block.includes('group_left') ? [block.trim()] : block.trim().split(/\n(?=[a-z])/),
  );
}

const byLabel = (samples: VectorSample[], label: string) =>
  Object.fromEntries(samples.map((sample) => [sample.labels[label], sample.value]));

describe('the Gateway rows of the dashboards and the PromQL of the docs, against a real Prometheus', () => {
  let upstream: ScriptedUpstream;
  const apps: RunningApp[] = [];
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    requirePrometheus();
    upstream = await startScriptedUpstream();
    for (const { schema } of REPLICAS) {
      apps.push(
        await startApp(
          AppModule.register({
            upstream: { url: upstream.url, provider: 'openai', prices: PRICES },
            apiKeys: { 'sk-acme': 'acme', 'sk-beta': 'beta' },
            metrics: { schema, defaultLabels: { instance: schema } },
          }),
        ),
      );
    }
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      jobs: REPLICAS.map(({ job }, index) => ({ jobName: job, honorLabels: true, targets: [new URL(apps[index].baseUrl).host] })),
    });
    const up = await targetsUp(prometheus, 2);
    expect(up.done).toBe(true);
    const ask = [{ role: 'user' as const, content: 'Hello' }];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const app of apps) {
        const client = (apiKey: string) => new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
        const acme = client('sk-acme');
        await acme.chat.completions.create({ model: 'ok', messages: ask, max_tokens: 4 });
        await acme.chat.completions.create({ model: 'ok', messages: ask, max_tokens: 6 });
        for await (const chunk of await acme.chat.completions.create({ model: 'slow', messages: ask, max_tokens: 5, stream: true })) {
          void chunk;
        }
        await acme.chat.completions.create({ model: 'flaky', messages: ask, max_tokens: 4 });
        await acme.chat.completions.create({ model: 'hostile', messages: ask, max_tokens: 3 });
        await client('sk-beta').chat.completions.create({ model: 'ok', messages: ask, max_tokens: 4 });
      }
      for (const { prefix } of REPLICAS) {
        const counted = await pollUntil(
          async () => (await prometheus!.queryVector(`sum(${prefix}requests_total)`))[0]?.value,
          (total) => total === (REQUESTS / ROUNDS) * round,
          { timeoutMs: 10_000 },
        );
        expect(counted).toEqual({ value: (REQUESTS / ROUNDS) * round, done: true });
      }
    }
    // Two scrapes more, so that every rate has two points after the traffic.
    await new Promise((done) => setTimeout(done, 2500));
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await Promise.all(apps.map((app) => app.close()));
      await upstream?.close();
    }
  }, 30_000);

  describe.each(REPLICAS)('the $schema gateway', ({ prefix: P, dashboard: file }) => {
    const dashboard = loadDashboard(resolve(import.meta.dirname, file));
    const row = panelsOfRow(dashboard, 'Gateway');
    const run = async (title: string, refId = 'A') => {
      const query = panelQueries({ ...dashboard, panels: row }).find((q) => q.panel.title === title && q.refId === refId);
      expect({ title, refId, found: query !== undefined }).toEqual({ title, refId, found: true });
      return prometheus!.queryVector(substitute((query as PanelQuery).expr, dashboard));
    };

    it('has the six panels: calls, provider latency, overhead, rate limits, spend, unpriced share', () => {
      expect(row.map((panel) => panel.title)).toEqual([
        'Upstream calls by provider and status',
        'Provider time to first chunk and upstream duration p90',
        'Gateway overhead: p50 and p90',
        'Upstream rate limit remaining',
        'Spend per hour by model and by tenant',
        'Unpriced share of tokens',
      ]);
    });

    it('holds the cost the traffic implies, by tenant, read by PromQL', async () => {
      const cost = byLabel(await prometheus!.queryVector(`sum by (tenant) (${P}cost_total)`), 'tenant');
      expect(Object.keys(cost).sort()).toEqual(['acme', 'beta']);
      expect(cost.acme).toBeCloseTo(COST.acme, 15);
      expect(cost.beta).toBeCloseTo(COST.beta, 15);
      const attempts = byLabel(await prometheus!.queryVector(`sum by (status) (${P}upstream_requests_total)`), 'status');
      expect(attempts).toEqual({ success: REQUESTS, error: ROUNDS });
      expect((await prometheus!.queryVector(`sum(${P}upstream_retries_total)`))[0].value).toBe(ROUNDS);
    });

    it('shows every panel query of the row with finite data', async () => {
      for (const { panel, refId, expr } of panelQueries({ ...dashboard, panels: row })) {
        const samples = await prometheus!.queryVector(substitute(expr, dashboard));
        expect({ panel: panel.title, refId, some: samples.length > 0, finite: samples.every((s) => Number.isFinite(s.value)) }).toEqual({
          panel: panel.title,
          refId,
          some: true,
          finite: true,
        });
      }
    });

    it('shows the calls by status with the retry, the rate limits last reported, spend by tenant and the unpriced model', async () => {
      const calls = await run('Upstream calls by provider and status');
      expect(calls.map(({ labels }) => `${labels.provider} ${labels.status} ${labels.error_type ?? ''}`).sort()).toEqual([
        'openai error overload',
        'openai success ',
      ]);
      expect((await run('Upstream calls by provider and status', 'B')).map(({ labels }) => labels.provider)).toEqual(['openai']);
      const limits = await run('Upstream rate limit remaining');
      expect(limits.filter(({ labels }) => labels.limit === 'tokens').every(({ value }) => value === 50000)).toBe(true);
      expect(limits.some(({ labels }) => labels.model === 'hostile')).toBe(false);
      const overhead = await run('Gateway overhead: p50 and p90', 'B');
      expect(overhead.every(({ value }) => value > 0)).toBe(true);
      const spend = byLabel(await run('Spend per hour by model and by tenant', 'B'), 'tenant');
      expect(Object.keys(spend).sort()).toEqual(['acme', 'beta']);
      expect(spend.acme).toBeGreaterThan(spend.beta);
      const unpriced = byLabel(await run('Unpriced share of tokens'), 'model');
      expect(unpriced.hostile).toBe(1);
      expect(unpriced.ok).toBe(0);
    });

    it('answers the PromQL of docs/gateway.md: spend by tenant, and a reconciliation with nothing to report', async () => {
      const queries = docsPromql().map((query) => query.replaceAll('nv_llm_http_service_', P));
      expect(queries.length).toBeGreaterThanOrEqual(6);
      for (const query of queries) {
        const answer = await prometheus!.queryAnswer(query);
        expect({ query, status: answer.status, error: answer.error }).toEqual({ query, status: 'success', error: undefined });
      }
      const reconciliation = queries.find((query) => query.includes('group_left'))!;
      expect(await prometheus!.queryVector(reconciliation)).toEqual([]);
      // The same difference, without its threshold: one series per model priced, each within a float's rounding of 0.
      const differences = await prometheus!.queryVector(reconciliation.replace(/\n> 1e-9$/, ''));
      expect(differences.map(({ labels }) => labels.model).sort()).toEqual(['flaky', 'ok', 'slow']);
      expect(differences.every(({ value }) => Math.abs(value) < 1e-15)).toBe(true);
      const byTenant = byLabel(await prometheus!.queryVector(queries.find((query) => query.includes('by (tenant, currency)'))!), 'tenant');
      expect(Object.keys(byTenant).sort()).toEqual(['acme', 'beta']);
    });
  });
});
