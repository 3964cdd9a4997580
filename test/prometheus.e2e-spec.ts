import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import OpenAI, { APIError } from 'openai';
import { AppModule } from '../sample/app.module.js';
import { REQUEST_DURATION_BUCKETS, TIME_TO_FIRST_TOKEN_BUCKETS } from '../src/index.js';
import { LABEL_VALUES, allPanels, exprsAnywhere, loadDashboard, panelQueries, substitute, variableQuery } from './support/grafana.js';
import { type RunningApp, startApp } from './support/http.js';
import { type PrometheusServer, type VectorSample, pollUntil, requirePrometheus, startPrometheus } from './support/prometheus.js';

/*
 * End to end through a real Prometheus: two replicas of the sample app in this
 * process, scraped every second by Debian's `prometheus` on loopback, driven
 * by the official `openai` client; then the numbers are read back through
 * Prometheus's HTTP API, and every query of the Grafana dashboard is run
 * against the same data.
 */

const DASHBOARD_FILE = resolve(import.meta.dirname, '../sample/grafana/llm-metrics.json');
const JOB = 'llm-sample';
/** The sample keeps `/metrics` behind this bearer token; Prometheus sends it. */
const SCRAPE_TOKEN = 'scrape-secret';
const REQUESTS = 'nv_llm_http_service_requests_total';
const LLAMA = 'mock-llama-3-8b';
const SMALL = 'mock-gpt-small';
const UNKNOWN = 'unknown_model';
const SERVED = new Set([LLAMA, SMALL]);
/** Tokens of every reply of the mock engine (no `max_tokens` is sent). */
const REPLY_TOKENS = 16;
const REPLICAS = ['replica-a', 'replica-b'] as const;
type Replica = (typeof REPLICAS)[number];

// ---------------------------------------------------------------------------
// The traffic, as data: what is sent, and what each call must be counted as.

type CallKind = 'chat' | 'chat-stream' | 'completion' | 'completion-stream' | 'embedding';

interface Call {
  replica: Replica;
  kind: CallKind;
  model: string;
  times: number;
  /** Ask for `usage` in the stream. */
  includeUsage?: boolean;
}

/** One round; it is sent twice, so that every series grows between two scrapes and has a positive rate. */
const ROUND: Call[] = [
  { replica: 'replica-a', kind: 'chat', model: LLAMA, times: 2 },
  { replica: 'replica-a', kind: 'chat-stream', model: LLAMA, times: 1 },
  { replica: 'replica-a', kind: 'completion', model: SMALL, times: 1 },
  { replica: 'replica-a', kind: 'completion-stream', model: SMALL, times: 1 },
  { replica: 'replica-a', kind: 'embedding', model: SMALL, times: 1 },
  { replica: 'replica-a', kind: 'chat', model: 'gpt-4o', times: 1 }, // 404
  { replica: 'replica-b', kind: 'chat', model: SMALL, times: 2 },
  { replica: 'replica-b', kind: 'chat-stream', model: SMALL, times: 2, includeUsage: true },
  { replica: 'replica-b', kind: 'completion-stream', model: LLAMA, times: 1 },
  { replica: 'replica-b', kind: 'embedding', model: LLAMA, times: 2 },
  { replica: 'replica-b', kind: 'completion', model: 'no-such-model', times: 2 }, // 404
];
const ROUNDS = 2;

/** The `requests_total` labels a call must be counted under. */
function countedAs(call: Call): { instance: string; model: string; endpoint: string; request_type: string; status: string } {
  const served = SERVED.has(call.model);
  return {
    instance: call.replica,
    model: served ? call.model : UNKNOWN,
    endpoint: call.kind.startsWith('chat') ? 'chat_completions' : call.kind.startsWith('completion') ? 'completions' : 'embeddings',
    request_type: call.kind.endsWith('-stream') ? 'stream' : 'unary',
    status: served ? 'success' : 'error',
  };
}

/** Sum of `times × rounds` over `calls`, grouped by `key` (calls for which it is undefined are left out). */
function expectedBy(key: (call: Call) => string | undefined, rounds = ROUNDS, calls = ROUND): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const call of calls) {
    const k = key(call);
    if (k !== undefined) {
      totals[k] = (totals[k] ?? 0) + call.times * rounds;
    }
  }
  return totals;
}

/** What the client saw, as upper bounds of what the server measured. */
interface ClientTimings {
  /** Slowest request, from the call to its end (stream read through, error caught), in seconds. */
  maxDuration: number;
  /** Slowest first chunk carrying content, from the call, in seconds. */
  maxFirstContent: number;
}

async function send(client: OpenAI, call: Call, timings: ClientTimings): Promise<void> {
  const start = performance.now();
  const messages = [{ role: 'user' as const, content: 'Hello there' }];
  const served = SERVED.has(call.model);
  let contentChunks = 0;
  const sawContent = (hasContent: boolean) => {
    if (hasContent) {
      if (contentChunks === 0) {
        timings.maxFirstContent = Math.max(timings.maxFirstContent, (performance.now() - start) / 1000);
      }
      contentChunks++;
    }
  };
  try {
    switch (call.kind) {
      case 'chat': {
        const completion = await client.chat.completions.create({ model: call.model, messages });
        check(completion.usage?.completion_tokens === REPLY_TOKENS, 'a chat completion of 16 tokens', completion);
        break;
      }
      case 'chat-stream': {
        const stream = await client.chat.completions.create({
          model: call.model,
          messages,
          stream: true,
          ...(call.includeUsage && { stream_options: { include_usage: true } }),
        });
        for await (const chunk of stream) {
          sawContent(chunk.choices.some((choice) => Boolean(choice.delta?.content)));
        }
        check(contentChunks === REPLY_TOKENS, 'a chat stream of 16 content chunks', contentChunks);
        break;
      }
      case 'completion': {
        const completion = await client.completions.create({ model: call.model, prompt: 'Once upon a time' });
        check(completion.usage?.completion_tokens === REPLY_TOKENS, 'a text completion of 16 tokens', completion);
        break;
      }
      case 'completion-stream': {
        const stream = await client.completions.create({ model: call.model, prompt: 'Once upon a time', stream: true });
        for await (const chunk of stream) {
          sawContent(chunk.choices.some((choice) => Boolean(choice.text)));
        }
        check(contentChunks === REPLY_TOKENS, 'a completion stream of 16 text chunks', contentChunks);
        break;
      }
      case 'embedding': {
        // `encoding_format: 'float'`: the sample always answers float arrays (see the report on `base64`).
        const list = await client.embeddings.create({ model: call.model, input: ['one two three'], encoding_format: 'float' });
        check(list.data.length === 1 && list.data[0].embedding.length > 0, 'one embedding', list);
        break;
      }
    }
    check(served, `a 404 for the unknown model ${call.model}`, 'a success');
  } catch (err) {
    if (served || !(err instanceof APIError) || err.status !== 404) {
      throw err;
    }
  }
  timings.maxDuration = Math.max(timings.maxDuration, (performance.now() - start) / 1000);
}

function check(condition: boolean, expected: string, got: unknown): void {
  if (!condition) {
    throw new Error(`expected ${expected}, got ${JSON.stringify(got)}`);
  }
}

/** The smallest bucket bound ≥ `value`: a histogram quantile of observations ≤ `value` cannot exceed it. */
function bucketCeiling(value: number, buckets: readonly number[]): number {
  return buckets.find((bound) => bound >= value) ?? Infinity;
}

/** A vector as `{ [label value]: value }`. */
function byLabel(samples: VectorSample[], label: string): Record<string, number> {
  return Object.fromEntries(samples.map((sample) => [sample.labels[label] ?? '', sample.value]));
}

// ---------------------------------------------------------------------------

describe('the Grafana dashboard sample/grafana/llm-metrics.json', () => {
  const dashboard = loadDashboard(DASHBOARD_FILE);

  it('parses as an importable dashboard: schemaVersion 39, a uid, a datasource variable, a non-empty panel list with unique ids', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const panels = allPanels(dashboard.panels);
    expect(panels.filter((panel) => panel.type !== 'row').length).toBeGreaterThan(0);
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has a panel for each signal: request rate, error ratio, in-flight, duration, TTFT and ITL p50/p99, output token throughput', () => {
    const exprs = panelQueries(dashboard).map((query) => query.expr);
    const some = (pattern: RegExp) => exprs.some((expr) => pattern.test(expr));
    expect(some(/sum by \(model, endpoint, request_type, status\) \(rate\(nv_llm_http_service_requests_total\{/)).toBe(true);
    expect(some(/status="error".*\/ sum by \(model\)/)).toBe(true);
    expect(some(/nv_llm_http_service_inflight_requests\{/)).toBe(true);
    for (const histogram of ['request_duration_seconds', 'time_to_first_token_seconds', 'inter_token_latency_seconds']) {
      for (const q of ['0.50', '0.99']) {
        expect(some(new RegExp(`^histogram_quantile\\(${q}, sum by \\(model, le\\) \\(rate\\(nv_llm_http_service_${histogram}_bucket\\{`))).toBe(true);
      }
    }
    expect(some(/rate\(nv_llm_http_service_output_sequence_tokens_sum\{/)).toBe(true);
  });

  it('filters every query by $model and $instance, with regex matchers (=~) so that "All" and multiple selections work', () => {
    const variables = dashboard.templating.list.filter((v) => v.type === 'query');
    expect(variables.map((v) => v.name).sort()).toEqual(['instance', 'model']);
    for (const variable of variables) {
      expect(variable).toMatchObject({ multi: true, includeAll: true, allValue: '.*' });
    }
    const exprs = [...panelQueries(dashboard).map((query) => query.expr), ...variables.map((v) => variableQuery(v)!)];
    for (const expr of exprs) {
      // A label matcher whose value holds a variable must be a regex matcher.
      for (const [, operator] of expr.matchAll(/\w+\s*(=~|!~|!=|=)\s*"[^"]*(?:\$|\[\[)/g)) {
        expect({ expr, operator }).toEqual({ expr, operator: '=~' });
      }
    }
    for (const { expr } of panelQueries(dashboard)) {
      // Every selector of a panel query is filtered by both variables.
      for (const [selector] of expr.matchAll(/nv_llm_\w+\{[^}]*\}/g)) {
        expect(selector).toContain('model=~"$model"');
        expect(selector).toContain('instance=~"$instance"');
      }
    }
  });

  it('points every panel and query at the ${datasource} variable', () => {
    for (const panel of allPanels(dashboard.panels).filter((p) => p.type !== 'row')) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) {
        expect(target.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      expect(variable.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });
});

describe('a real Prometheus scraping two replicas of the sample app, driven by the openai client', () => {
  const apps = new Map<Replica, RunningApp>();
  let prometheus: PrometheusServer | undefined;
  const timings: ClientTimings = { maxDuration: 0, maxFirstContent: 0 };
  const dashboard = loadDashboard(DASHBOARD_FILE);

  /** `sum by (instance)` of the requests, as Prometheus has them now. */
  const countedPerInstance = async () => byLabel(await prometheus!.queryVector(`sum by (instance) (${REQUESTS})`), 'instance');

  /** Fails with what Prometheus knows if `done` does not hold within the bounds. */
  async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const { value, done: ok } = await pollUntil(read, done, { timeoutMs, intervalMs: 200, maxPolls: Math.ceil(timeoutMs / 200) });
    if (!ok) {
      const targets = await prometheus!.targets().catch((err: unknown) => String(err));
      throw new Error(
        `Prometheus did not show ${what} in time; last read ${JSON.stringify(value)}\n` +
          `targets: ${JSON.stringify(targets, null, 2)}\nconfig:\n${prometheus!.config}\nlog tail:\n${prometheus!.logs().slice(-3000)}`,
      );
    }
    return value;
  }

  async function sendRound(): Promise<void> {
    const clients = new Map(
      [...apps].map(([replica, app]) => [replica, new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: 'test', maxRetries: 0, timeout: 10_000 })]),
    );
    await Promise.all(
      ROUND.flatMap((call) => Array.from({ length: call.times }, () => send(clients.get(call.replica)!, call, timings))),
    );
  }

  beforeAll(async () => {
    requirePrometheus(); // no `prometheus` on PATH: every test below fails with this message
    for (const replica of REPLICAS) {
      apps.set(
        replica,
        await startApp(
          AppModule.register({ tokenDelayMs: 5, metricsToken: SCRAPE_TOKEN, metrics: { defaultLabels: { instance: replica } } }),
        ),
      );
    }
    prometheus = await startPrometheus({
      intervalSeconds: 1,
      jobs: [
        {
          jobName: JOB,
          honorLabels: true,
          bearerToken: SCRAPE_TOKEN,
          targets: [...apps.values()].map((app) => new URL(app.baseUrl).host),
        },
      ],
    });
    // Prometheus hands discovered targets to its scrape loops about 5 s after it starts.
    await waitFor(
      'both targets up',
      () => prometheus!.targets(),
      (targets) => targets.length === 2 && targets.every((target) => target.health === 'up'),
      20_000,
    );
    // Two rounds, each scraped before the next: the first creates every series,
    // the second makes each of them grow, so that rates over the window are positive.
    for (let round = 1; round <= ROUNDS; round++) {
      await sendRound();
      const expected = expectedBy((call) => call.replica, round);
      await waitFor(`the requests of round ${round} (${JSON.stringify(expected)})`, countedPerInstance, (counted) =>
        REPLICAS.every((replica) => counted[replica] === expected[replica]),
      );
    }
  }, 60_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      await Promise.all([...apps.values()].map((app) => app.close()));
    }
  }, 30_000);

  it('scrapes both replicas in one job with the bearer token, keeping the instance label each replica exposes (honor_labels: true, no exported_instance)', async () => {
    for (const app of apps.values()) {
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(403); // so Prometheus got in with the token
    }
    const targets = await prometheus!.targets();
    expect(targets.map((target) => ({ job: target.labels.job, health: target.health }))).toEqual([
      { job: JOB, health: 'up' },
      { job: JOB, health: 'up' },
    ]);
    // The target's own instance (host:port) stays on the synthetic series…
    const up = await prometheus!.queryVector(`up{job="${JOB}"}`);
    expect(up.map((sample) => sample.labels.instance).sort()).toEqual([...apps.values()].map((app) => new URL(app.baseUrl).host).sort());
    // …while the scraped series keep the exposed one, not renamed.
    const instances = await prometheus!.queryVector(`count by (instance) ({job="${JOB}", __name__=~"nv_llm_.+"})`);
    expect(instances.map((sample) => sample.labels.instance).sort()).toEqual([...REPLICAS]);
    expect(await prometheus!.queryVector(`{job="${JOB}", exported_instance!=""}`)).toEqual([]);
  });

  it('knows every metric family by its type and help text (metadata API), whichever exposition format it negotiated', async () => {
    const answer = await fetch(`${prometheus!.baseUrl}/api/v1/metadata`).then((response) => response.json());
    const metadata = (answer as { data: Record<string, { type: string; help: string }[]> }).data;
    // OpenMetrics names a counter's family without `_total`, the classic format with it.
    const of = (name: string) => (metadata[name] ?? metadata[`${name}_total`])?.map(({ type, help }) => ({ type, help }));
    expect(of('nv_llm_http_service_requests')).toEqual([{ type: 'counter', help: 'Total number of LLM requests processed' }]);
    expect(of('nv_llm_http_service_inflight_requests')).toEqual([{ type: 'gauge', help: 'Number of inflight requests' }]);
    for (const [name, help] of [
      ['request_duration_seconds', 'Duration of LLM requests'],
      ['time_to_first_token_seconds', 'Time to first token in seconds'],
      ['inter_token_latency_seconds', 'Inter-token latency in seconds'],
      ['input_sequence_tokens', 'Input sequence length in tokens'],
      ['output_sequence_tokens', 'Output sequence length in tokens'],
    ]) {
      expect(of(`nv_llm_http_service_${name}`)).toEqual([{ type: 'histogram', help }]);
    }
  });

  it('sum by (model) of requests_total is exactly the requests sent per model, unknown_model holding the 404s', async () => {
    const counted = byLabel(await prometheus!.queryVector(`sum by (model) (${REQUESTS})`), 'model');
    expect(counted).toEqual(expectedBy((call) => countedAs(call).model));
    expect(counted).toEqual({ [LLAMA]: 12, [SMALL]: 14, [UNKNOWN]: 6 });
  });

  it('sum by (instance) of requests_total splits the requests by the replica that served them', async () => {
    expect(await countedPerInstance()).toEqual({ 'replica-a': 14, 'replica-b': 18 });
  });

  it('counts each (instance, model, endpoint, request_type, status) series exactly as sent', async () => {
    const keyOf = (labels: Record<string, string>) =>
      ['instance', 'model', 'endpoint', 'request_type', 'status'].map((label) => labels[label]).join(' ');
    const samples = await prometheus!.queryVector(`sum by (instance, model, endpoint, request_type, status) (${REQUESTS})`);
    const counted = Object.fromEntries(samples.map((sample) => [keyOf(sample.labels), sample.value]));
    expect(counted).toEqual(expectedBy((call) => keyOf(countedAs(call))));
  });

  it('puts the p99 request duration over a 1m rate in the first bucket, (0, 1] s, as every request was fast', async () => {
    const [p99] = await prometheus!.queryVector(
      'histogram_quantile(0.99, sum by (le) (rate(nv_llm_http_service_request_duration_seconds_bucket[1m])))',
    );
    expect(p99.value).toBeGreaterThan(0);
    // The server's durations are no longer than what the client saw: the quantile is at most that bucket's bound
    // (1 s unless this machine was very slow).
    expect(p99.value).toBeLessThanOrEqual(Math.max(1, bucketCeiling(timings.maxDuration, REQUEST_DURATION_BUCKETS)));
  });

  it('puts the p99 time to first token above 1 ms (a 5 ms token delay) and no later than the slowest first token the client saw', async () => {
    const [p99] = await prometheus!.queryVector(
      'histogram_quantile(0.99, sum by (le) (rate(nv_llm_http_service_time_to_first_token_seconds_bucket[1m])))',
    );
    expect(p99.value).toBeGreaterThan(0.001);
    // 0.1 s normally; bounded by the client's own observation on a slow machine.
    expect(p99.value).toBeLessThanOrEqual(Math.max(0.1, bucketCeiling(timings.maxFirstContent, TIME_TO_FIRST_TOKEN_BUCKETS)));
  });

  it('sums 16 output tokens per successful chat or text completion, per model (what the token-throughput panel rates)', async () => {
    const generations = expectedBy((call) => (SERVED.has(call.model) && call.kind !== 'embedding' ? call.model : undefined));
    const sums = byLabel(await prometheus!.queryVector('sum by (model) (nv_llm_http_service_output_sequence_tokens_sum)'), 'model');
    const counts = byLabel(await prometheus!.queryVector('sum by (model) (nv_llm_http_service_output_sequence_tokens_count)'), 'model');
    expect(counts).toEqual(generations);
    expect(sums).toEqual(Object.fromEntries(Object.entries(generations).map(([model, n]) => [model, n * REPLY_TOKENS])));
  });

  it('shows no request in flight once the traffic is over', async () => {
    const inflight = await prometheus!.queryVector('sum by (instance, model) (nv_llm_http_service_inflight_requests)');
    expect(inflight.length).toBe(6); // both replicas saw all three model labels
    expect(inflight.map((sample) => sample.value)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  describe('the Grafana dashboard, against the same Prometheus', () => {
    it('finds the same expressions by walking the panels (collapsed rows included) as anywhere in the JSON', () => {
      const structured = panelQueries(dashboard).map((query) => query.expr);
      expect(structured.length).toBeGreaterThan(0);
      expect(structured.sort()).toEqual(exprsAnywhere(dashboard).sort());
    });

    it('evaluates every PromQL expression of the panels without error', async () => {
      for (const { panel, refId, expr } of panelQueries(dashboard)) {
        const promql = substitute(expr, dashboard);
        expect(promql).not.toMatch(/\$|\[\[/);
        const answer = await prometheus!.queryAnswer(promql);
        expect({ panel: panel.title, refId, status: answer.status, error: answer.error }).toEqual({
          panel: panel.title,
          refId,
          status: 'success',
          error: undefined,
        });
      }
    });

    it('resolves every templating query through /api/v1/label/<name>/values: the served instances and models', async () => {
      const expected: Record<string, string[]> = { instance: [...REPLICAS], model: [SMALL, LLAMA, UNKNOWN].sort() };
      const variables = dashboard.templating.list.filter((v) => v.type === 'query');
      expect(variables.length).toBeGreaterThan(0);
      for (const variable of variables) {
        const query = variableQuery(variable);
        expect(variable.definition).toBe(query);
        const match = LABEL_VALUES.exec(query ?? '');
        expect({ variable: variable.name, query, isLabelValues: match !== null }).toEqual({ variable: variable.name, query, isLabelValues: true });
        const [, selector, label] = match!;
        const answer = await prometheus!.labelValuesAnswer(label, selector ? [substitute(selector, dashboard)] : []);
        expect({ variable: variable.name, status: answer.status, error: answer.error }).toEqual({
          variable: variable.name,
          status: 'success',
          error: undefined,
        });
        expect([...answer.data!].sort()).toEqual(expected[variable.name]);
      }
    });

    it('returns data for every panel query after the traffic, every value finite', async () => {
      for (const { panel, refId, expr } of panelQueries(dashboard)) {
        const samples = await prometheus!.queryVector(substitute(expr, dashboard));
        const nonFinite = samples.filter((sample) => !Number.isFinite(sample.value));
        expect({ panel: panel.title, refId, series: samples.length > 0, nonFinite }).toEqual({
          panel: panel.title,
          refId,
          series: true,
          nonFinite: [],
        });
      }
    });

    it('shows the traffic in its key panels: request rate per model, error ratio, TTFT p99 per streamed model, output tokens/s', async () => {
      const queries = panelQueries(dashboard);
      const run = async (title: string, refId = 'A') => {
        const query = queries.find((q) => q.panel.title === title && q.refId === refId);
        expect(query).toBeDefined();
        return prometheus!.queryVector(substitute(query!.expr, dashboard));
      };
      const rate = await run('Request rate by model, endpoint and status');
      expect([...new Set(rate.map((sample) => sample.labels.model))].sort()).toEqual([SMALL, LLAMA, UNKNOWN].sort());
      expect(rate.every((sample) => sample.value > 0)).toBe(true);

      expect(byLabel(await run('Error ratio by model'), 'model')).toEqual({ [LLAMA]: 0, [SMALL]: 0, [UNKNOWN]: 1 });

      const byInstance = byLabel(await run('Request rate by instance'), 'instance');
      expect(Object.keys(byInstance).sort()).toEqual([...REPLICAS]);

      const ttftP99 = await run('Time to first token p50 / p99', 'B');
      expect(ttftP99.map((sample) => sample.labels.model).sort()).toEqual([SMALL, LLAMA].sort()); // both streamed
      const ttftBound = Math.max(0.1, bucketCeiling(timings.maxFirstContent, TIME_TO_FIRST_TOKEN_BUCKETS));
      for (const sample of ttftP99) {
        expect(sample.value).toBeGreaterThan(0.001);
        expect(sample.value).toBeLessThanOrEqual(ttftBound);
      }

      const itlP99 = await run('Inter-token latency p50 / p99', 'B');
      expect(itlP99.map((sample) => sample.labels.model).sort()).toEqual([SMALL, LLAMA].sort());
      expect(itlP99.every((sample) => sample.value > 0)).toBe(true);

      const throughput = await run('Output token throughput');
      expect(throughput.map((sample) => sample.labels.model).sort()).toEqual([SMALL, LLAMA].sort());
      expect(throughput.every((sample) => sample.value > 0)).toBe(true);
    });
  });
});
