import { resolve } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { AppModule } from '../sample/app.module.js';
import {
  type Dashboard,
  LABEL_VALUES,
  allPanels,
  loadDashboard,
  panelQueries,
  panelsOfRow,
  substitute,
  variableQuery,
} from './support/grafana.js';
import { hasSample, valueOf } from './support/exposition.js';
import { type RunningApp, abandonAfter, eventually, scrape, startApp } from './support/http.js';
import { type PrometheusServer, type VectorSample, pollUntil, requirePrometheus, startPrometheus } from './support/prometheus.js';

/*
 * The dynamo-frontend schema through a real Prometheus: a replica of the
 * sample in that schema, scraped every second by Debian's `prometheus`,
 * driven by the official `openai` client; then PromQL of the kinds Dynamo's
 * own Grafana dashboard runs, and every query of the sample's dashboard for
 * this schema, must give finite data.
 */

const DASHBOARD_FILE = resolve(import.meta.dirname, '../grafana/llm-metrics-dynamo-frontend.json');
const P = 'dynamo_frontend_';
const INSTANCE = 'frontend-a';
const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';
const FAILURES = { 'mock-busy': 429, 'mock-broken': 500, 'mock-loading': 503, 'mock-saturated': 529 };
/** The histograms Dynamo's dashboard reads percentiles and averages of. */
const HISTOGRAMS = [
  'request_duration_seconds',
  'time_to_first_token_seconds',
  'inter_token_latency_seconds',
  'input_sequence_tokens',
  'output_sequence_tokens',
  'cached_tokens',
];

/** PromQL of the kinds Dynamo's dashboard runs, over a 1-minute window. */
const DYNAMO_DASHBOARD_KINDS: [what: string, expr: string][] = [
  [
    'success rate, internal errors only',
    `sum(rate(${P}requests_total{status="success"}[1m])) / sum(rate(${P}requests_total{error_type=~"|internal"}[1m]))`,
  ],
  ...HISTOGRAMS.flatMap((histogram): [string, string][] => [
    ...[0.5, 0.9, 0.99, 1].map((q): [string, string] => [
      `${histogram} ${q === 1 ? 'max' : `p${q * 100}`}`,
      `histogram_quantile(${q}, sum by (le) (rate(${P}${histogram}_bucket[1m])))`,
    ]),
    [`${histogram} average`, `sum(rate(${P}${histogram}_sum[1m])) / sum(rate(${P}${histogram}_count[1m]))`],
  ]),
  ['outcomes by error type', `sum by (error_type) (increase(${P}requests_total[1m]))`],
  ['active requests', `sum by (model) (${P}active_requests)`],
];

describe('the dashboard for the dynamo-frontend schema, grafana/llm-metrics-dynamo-frontend.json', () => {
  const dashboard = loadDashboard(DASHBOARD_FILE);

  it('parses as an importable dashboard of its own: schemaVersion 39, a uid, a datasource variable, unique panel ids', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('nestjs-llm-metrics-dynamo');
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const ids = allPanels(dashboard.panels).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("fills its model list as Dynamo's does, and filters every query by $instance, and by $model but for disconnected_clients", () => {
    expect(variableQuery(dashboard.templating.list.find((v) => v.name === 'model')!)).toBe(
      `label_values(${P}input_sequence_tokens_count{instance=~"$instance"}, model)`,
    );
    for (const { expr } of panelQueries(dashboard)) {
      for (const [selector, name] of expr.matchAll(/(dynamo_frontend_\w+)\{[^}]*\}/g)) {
        expect({ selector, instance: selector.includes('instance=~"$instance"') }).toEqual({ selector, instance: true });
        expect({ selector, model: selector.includes('model=~"$model"') }).toEqual({ selector, model: name !== `${P}disconnected_clients` });
      }
    }
  });
});

describe('a real Prometheus scraping the sample in the dynamo-frontend schema', () => {
  let app: RunningApp | undefined;
  let prometheus: PrometheusServer | undefined;
  const dashboard: Dashboard = loadDashboard(DASHBOARD_FILE);

  const counted = async () => (await prometheus!.queryVector(`sum(${P}requests_total)`))[0]?.value ?? 0;

  async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const { value, done: ok } = await pollUntil(read, done, { timeoutMs, intervalMs: 200, maxPolls: Math.ceil(timeoutMs / 200) });
    if (!ok) {
      throw new Error(
        `Prometheus did not show ${what} in time; last read ${JSON.stringify(value)}\nlog tail:\n${prometheus!.logs().slice(-3000)}`,
      );
    }
    return value;
  }

  /**
   * One round of traffic, one request at a time (the engine takes one chat at
   * a time): every kind of request, and every kind of outcome, a rejection
   * included. Resolves to the number of requests.
   */
  async function sendRound(client: OpenAI): Promise<number> {
    let sent = 0;
    const failing = async (call: () => Promise<unknown>) => {
      sent++;
      await call().catch((err: unknown) => {
        if (!(err instanceof APIError)) {
          throw err;
        }
      });
    };
    const readStream = async (model: string, content: string) => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _ of stream) {
        // read it to its end
      }
    };
    // A chat while another holds the engine's one slot: rejected (529, model_rejection_total).
    const holding = readStream(LLAMA, 'hold the engine');
    await eventually(
      () => scrape(app!.baseUrl),
      (text) =>
        hasSample(text, `${P}active_requests`, { model: LLAMA, instance: INSTANCE }) &&
        valueOf(text, `${P}active_requests`, { model: LLAMA, instance: INSTANCE }) === 1,
    );
    await failing(() => client.chat.completions.create({ model: LLAMA, messages: [{ role: 'user', content: 'no room' }] }));
    await holding;
    sent++;
    for (const model of [LLAMA, SMALL]) {
      // The same prompt twice: the second is served from the mock engine's prefix cache.
      for (let i = 0; i < 2; i++) {
        await client.chat.completions.create({ model, messages: [{ role: 'user', content: `hello ${model}` }] });
        sent++;
      }
      await readStream(model, `stream ${model}`);
      await client.completions.create({ model, prompt: 'once upon a time', max_tokens: 4 });
      // What the Answers row shows: a stream that reasons, a tool call of a tool not offered.
      const reasoning = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'think' }],
        reasoning_effort: 'low',
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _ of reasoning) {
        // read it to its end
      }
      await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'call lookup {}' }],
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
      });
      sent += 2;
      await client.embeddings.create({ model, input: ['one two three'] });
      sent += 3;
    }
    for (const model of ['gpt-4o', ...Object.keys(FAILURES)]) {
      await failing(() => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'fail' }] }));
    }
    await abandonAfter(app!.baseUrl, '/v1/chat/completions', {
      body: { model: SMALL, messages: [{ role: 'user', content: 'leave' }], stream: true },
      chunks: 2,
    });
    return sent + 1;
  }

  beforeAll(async () => {
    requirePrometheus();
    app = await startApp(
      AppModule.register({
        tokenDelayMs: 10,
        capacity: 1,
        failures: FAILURES,
        metrics: { schema: 'dynamo-frontend', defaultLabels: { instance: INSTANCE } },
      }),
    );
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      jobs: [{ jobName: 'llm-frontend', honorLabels: true, targets: [new URL(app.baseUrl).host] }],
    });
    await waitFor(
      'the target up',
      () => prometheus!.targets(),
      (targets) => targets.length === 1 && targets[0].health === 'up',
      20_000,
    );
    const client = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'test', maxRetries: 0, timeout: 10_000 });
    // Two rounds, each scraped before the next, so that every series grows over the window.
    let sent = 0;
    for (let round = 0; round < 2; round++) {
      sent += await sendRound(client);
      await waitFor(`the ${sent} requests of round ${round + 1}`, counted, (total) => total === sent);
    }
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await app?.close();
    }
  }, 30_000);

  const finite = (samples: VectorSample[]) => samples.length > 0 && samples.every((sample) => Number.isFinite(sample.value));

  it.each(DYNAMO_DASHBOARD_KINDS)("gives finite data for Dynamo's dashboard query: %s", async (_, expr) => {
    const samples = await prometheus!.queryVector(expr);
    expect({ expr, samples, finite: finite(samples) }).toEqual({ expr, samples, finite: true });
  });

  it('breaks the outcomes down by every error type the traffic had', async () => {
    const outcomes = await prometheus!.queryVector(`sum by (error_type) (${P}requests_total)`);
    expect(outcomes.map((sample) => sample.labels.error_type ?? '').sort()).toEqual([
      '',
      'cancelled',
      'internal',
      'not_found',
      'overload',
      'unavailable',
    ]);
  });

  it("lists the served models from input_sequence_tokens_count, as Dynamo's model drop-down does", async () => {
    const answer = await prometheus!.labelValuesAnswer('model', [`${P}input_sequence_tokens_count`]);
    expect(answer.status).toBe('success');
    expect([...answer.data!].sort()).toEqual([SMALL, LLAMA].sort());
  });

  it("evaluates every query and variable of the sample's dashboard for this schema, each with finite data", async () => {
    // The Service levels row needs the slo option and the rules, the Gateway row an upstream: prometheus-slo and prometheus-gateway.e2e-spec.ts check them.
    const elsewhere = new Set([...panelsOfRow(dashboard, 'Service levels'), ...panelsOfRow(dashboard, 'Gateway')]);
    for (const { panel, refId, expr } of panelQueries(dashboard).filter((query) => !elsewhere.has(query.panel))) {
      const samples = await prometheus!.queryVector(substitute(expr, dashboard));
      expect({ panel: panel.title, refId, finite: finite(samples) }).toEqual({ panel: panel.title, refId, finite: true });
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const [, selector, label] = LABEL_VALUES.exec(variableQuery(variable) ?? '')!;
      const answer = await prometheus!.labelValuesAnswer(label, selector ? [substitute(selector, dashboard)] : []);
      expect({ variable: variable.name, status: answer.status, some: (answer.data ?? []).length > 0 }).toEqual({
        variable: variable.name,
        status: 'success',
        some: true,
      });
    }
  });
});
