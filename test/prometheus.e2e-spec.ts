import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import OpenAI, { APIError } from 'openai';
import { AppModule } from '../sample/app.module.js';
import { REQUEST_DURATION_BUCKETS, TIME_TO_FIRST_TOKEN_BUCKETS } from '../src/index.js';
import {
  allPanels,
  exprsAnywhere,
  LABEL_VALUES,
  loadDashboard,
  panelQueries,
  panelsOfRow,
  substitute,
  variableQuery,
} from './support/grafana.js';
import { type RunningApp, startApp } from './support/http.js';
import { type PrometheusServer, type VectorSample, pollUntil, requirePrometheus, startPrometheus } from './support/prometheus.js';

/*
 * End to end through a real Prometheus: two replicas of the sample app in this
 * process, scraped every second by Debian's `prometheus` on loopback, driven
 * by the official `openai` client with the API keys of two tenants (so the
 * metrics carry a `tenant` label); then the numbers are read back through
 * Prometheus's HTTP API, and every query of the Grafana dashboard is run
 * against the same data.
 */

const DASHBOARD_FILE = resolve(import.meta.dirname, '../grafana/llm-metrics.json');
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
/** The sample's API keys (`apiKeys`), and the tenant each belongs to: the metrics' `tenant` label. */
const API_KEYS = { 'sk-acme': 'acme', 'sk-beta': 'beta' } as const;
type ApiKey = keyof typeof API_KEYS;
type Tenant = (typeof API_KEYS)[ApiKey];
const TENANTS: readonly Tenant[] = Object.values(API_KEYS).sort();
/** A key the sample does not know: answered 401 by its `ApiKeyGuard`, before the metrics see the request. */
const UNKNOWN_KEY = 'sk-unknown';
const keyOfTenant = (tenant: Tenant): ApiKey => (Object.keys(API_KEYS) as ApiKey[]).find((key) => API_KEYS[key] === tenant)!;
/** What each kind of call sends, and so its `usage.prompt_tokens`: the mock engine counts whitespace-separated words. */
const CHAT_PROMPT = 'Hello there';
const COMPLETION_PROMPT = 'Once upon a time';
const EMBEDDING_INPUT = 'one two three';
const wordsIn = (text: string) => text.split(/\s+/).filter(Boolean).length;

// ---------------------------------------------------------------------------
// The traffic, as data: what is sent, and what each call must be counted as.

type CallKind = 'chat' | 'chat-stream' | 'completion' | 'completion-stream' | 'embedding';

interface Call {
  replica: Replica;
  /** Whose API key sends it. */
  tenant: Tenant;
  kind: CallKind;
  model: string;
  times: number;
  /** Ask for `usage` in the stream. */
  includeUsage?: boolean;
}

/**
 * One round; it is sent twice, so that every series grows between two scrapes and has a positive rate.
 * Both tenants call both replicas, each with successes and 404s: per round, acme sends 6 requests and beta 10.
 */
const ROUND: Call[] = [
  { replica: 'replica-a', tenant: 'acme', kind: 'chat', model: LLAMA, times: 1 },
  { replica: 'replica-a', tenant: 'beta', kind: 'chat', model: LLAMA, times: 1 },
  { replica: 'replica-a', tenant: 'beta', kind: 'chat-stream', model: LLAMA, times: 1 },
  { replica: 'replica-a', tenant: 'acme', kind: 'completion', model: SMALL, times: 1 },
  { replica: 'replica-a', tenant: 'beta', kind: 'completion-stream', model: SMALL, times: 1 },
  { replica: 'replica-a', tenant: 'beta', kind: 'embedding', model: SMALL, times: 1 },
  { replica: 'replica-a', tenant: 'acme', kind: 'chat', model: 'gpt-4o', times: 1 }, // 404
  { replica: 'replica-b', tenant: 'acme', kind: 'chat', model: SMALL, times: 2 },
  { replica: 'replica-b', tenant: 'beta', kind: 'chat-stream', model: SMALL, times: 2, includeUsage: true },
  { replica: 'replica-b', tenant: 'beta', kind: 'completion-stream', model: LLAMA, times: 1 },
  { replica: 'replica-b', tenant: 'acme', kind: 'embedding', model: LLAMA, times: 1 },
  { replica: 'replica-b', tenant: 'beta', kind: 'embedding', model: LLAMA, times: 1 },
  { replica: 'replica-b', tenant: 'beta', kind: 'completion', model: 'no-such-model', times: 2 }, // 404
];
const ROUNDS = 2;

/** The `requests_total` labels a call must be counted under. */
function countedAs(call: Call): {
  instance: string;
  tenant: string;
  model: string;
  endpoint: string;
  request_type: string;
  status: string;
} {
  const served = SERVED.has(call.model);
  return {
    instance: call.replica,
    tenant: call.tenant,
    model: served ? call.model : UNKNOWN,
    endpoint: call.kind.startsWith('chat') ? 'chat_completions' : call.kind.startsWith('completion') ? 'completions' : 'embeddings',
    request_type: call.kind.endsWith('-stream') ? 'stream' : 'unary',
    status: served ? 'success' : 'error',
  };
}

/**
 * The prompt tokens the metrics record for one call (`input_sequence_tokens`): those of a successful
 * request that reported `usage` (every unary answer, a stream only with `include_usage`); else undefined.
 */
function inputTokensOf(call: Call): number | undefined {
  if (!SERVED.has(call.model)) {
    return undefined;
  }
  switch (call.kind) {
    case 'chat':
      return wordsIn(CHAT_PROMPT);
    case 'chat-stream':
      return call.includeUsage ? wordsIn(CHAT_PROMPT) : undefined;
    case 'completion':
      return wordsIn(COMPLETION_PROMPT);
    case 'completion-stream':
      return undefined; // no `stream_options` sent: no usage
    case 'embedding':
      return wordsIn(EMBEDDING_INPUT);
  }
}

/** Sum of `times × rounds` over `calls`, grouped by `key` (calls for which it is undefined are left out). */
function expectedBy(key: (call: Call) => string | undefined, rounds = ROUNDS, calls = ROUND): Record<string, number> {
  return expectedSumBy(key, () => 1, rounds, calls);
}

/** Sum of `amount(call) × times × rounds` over `calls`, grouped by `key` (calls for which either is undefined are left out). */
function expectedSumBy(
  key: (call: Call) => string | undefined,
  amount: (call: Call) => number | undefined,
  rounds = ROUNDS,
  calls = ROUND,
): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const call of calls) {
    const k = key(call);
    const each = amount(call);
    if (k !== undefined && each !== undefined) {
      totals[k] = (totals[k] ?? 0) + each * call.times * rounds;
    }
  }
  return totals;
}

/** The output tokens the metrics record for one call: 16 per successful chat or text completion, streamed or not. */
const outputTokensOf = (call: Call): number | undefined => (SERVED.has(call.model) && call.kind !== 'embedding' ? REPLY_TOKENS : undefined);

/** What the client saw, as upper bounds of what the server measured. */
interface ClientTimings {
  /** Slowest request, from the call to its end (stream read through, error caught), in seconds. */
  maxDuration: number;
  /** Slowest first chunk carrying content, from the call, in seconds. */
  maxFirstContent: number;
}

async function send(client: OpenAI, call: Call, timings: ClientTimings): Promise<void> {
  const start = performance.now();
  const messages = [{ role: 'user' as const, content: CHAT_PROMPT }];
  const promptTokens = inputTokensOf(call);
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
        check(completion.usage?.prompt_tokens === promptTokens, `${promptTokens} prompt tokens`, completion.usage);
        break;
      }
      case 'chat-stream': {
        const stream = await client.chat.completions.create({
          model: call.model,
          messages,
          stream: true,
          ...(call.includeUsage && { stream_options: { include_usage: true } }),
        });
        let usage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of stream) {
          sawContent(chunk.choices.some((choice) => Boolean(choice.delta?.content)));
          usage = chunk.usage ?? usage;
        }
        check(contentChunks === REPLY_TOKENS, 'a chat stream of 16 content chunks', contentChunks);
        check(usage?.prompt_tokens === promptTokens, `${promptTokens ?? 'no'} prompt tokens`, usage);
        break;
      }
      case 'completion': {
        const completion = await client.completions.create({ model: call.model, prompt: COMPLETION_PROMPT });
        check(completion.usage?.completion_tokens === REPLY_TOKENS, 'a text completion of 16 tokens', completion);
        check(completion.usage?.prompt_tokens === promptTokens, `${promptTokens} prompt tokens`, completion.usage);
        break;
      }
      case 'completion-stream': {
        const stream = await client.completions.create({ model: call.model, prompt: COMPLETION_PROMPT, stream: true });
        for await (const chunk of stream) {
          sawContent(chunk.choices.some((choice) => Boolean(choice.text)));
        }
        check(contentChunks === REPLY_TOKENS, 'a completion stream of 16 text chunks', contentChunks);
        break;
      }
      case 'embedding': {
        // `encoding_format: 'float'`: the sample always answers float arrays (see the report on `base64`).
        const list = await client.embeddings.create({ model: call.model, input: [EMBEDDING_INPUT], encoding_format: 'float' });
        check(list.data.length === 1 && list.data[0].embedding.length > 0, 'one embedding', list);
        check(list.usage.prompt_tokens === promptTokens, `${promptTokens} prompt tokens`, list.usage);
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

describe('the Grafana dashboard grafana/llm-metrics.json', () => {
  const dashboard = loadDashboard(DASHBOARD_FILE);

  it('parses as an importable dashboard: schemaVersion 39, a uid, a datasource variable, a non-empty panel list with unique ids', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
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
        expect(
          some(new RegExp(`^histogram_quantile\\(${q}, sum by \\(model, le\\) \\(rate\\(nv_llm_http_service_${histogram}_bucket\\{`)),
        ).toBe(true);
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

  it('has a Tenants row: request rate by tenant, and output and input token throughput by tenant from the sequence-token sums', () => {
    const rowAt = dashboard.panels.findIndex((panel) => panel.type === 'row' && panel.title === 'Tenants');
    expect(rowAt).toBeGreaterThanOrEqual(0);
    const nextRow = dashboard.panels.findIndex((panel, index) => index > rowAt && panel.type === 'row');
    const inRow = dashboard.panels.slice(rowAt + 1, nextRow < 0 ? undefined : nextRow);
    expect(inRow.map((panel) => [panel.title, panel.type])).toEqual([
      ['Request rate by tenant', 'timeseries'],
      ['Token throughput by tenant', 'timeseries'],
    ]);
    const exprs = inRow.flatMap((panel) => (panel.targets ?? []).map((target) => `${target.refId}: ${target.expr}`));
    // The other panels' filters and rate interval, summed over everything but the tenant.
    const filtered = (series: string) => `sum by (tenant) (rate(${series}{model=~"$model", instance=~"$instance"}[$__rate_interval]))`;
    expect(exprs).toEqual([
      `A: ${filtered(REQUESTS)}`,
      `A: ${filtered('nv_llm_http_service_output_sequence_tokens_sum')}`,
      `B: ${filtered('nv_llm_http_service_input_sequence_tokens_sum')}`,
    ]);
  });

  it('lays its panels out on the 24-column grid without overlap, those of collapsed rows included', () => {
    type Box = { x: number; y: number; w: number; h: number };
    const boxes = allPanels(dashboard.panels).map((panel) => ({ title: panel.title, ...(panel as { gridPos?: Box }).gridPos! }));
    for (const box of boxes) {
      expect({ box, fits: box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 24 }).toEqual({ box, fits: true });
    }
    const overlaps = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        .map((b) => [a.title, b.title]),
    );
    expect(overlaps).toEqual([]);
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

  /** An `openai` client of `app` that sends `apiKey` (as `Authorization: Bearer <apiKey>`). */
  const clientOf = (app: RunningApp, apiKey: string) =>
    new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });

  async function sendRound(): Promise<void> {
    // One client per (replica, tenant), with that tenant's key.
    const clients = new Map(
      [...apps].flatMap(([replica, app]) => TENANTS.map((tenant) => [`${replica} ${tenant}`, clientOf(app, keyOfTenant(tenant))] as const)),
    );
    await Promise.all(
      ROUND.flatMap((call) =>
        Array.from({ length: call.times }, () => send(clients.get(`${call.replica} ${call.tenant}`)!, call, timings)),
      ),
    );
  }

  /** What the sample answered the one request sent with an unknown key (in round 1, so before the last scrape checked). */
  let unknownKeyAnswer: { status: number | undefined; code?: string | null } | undefined;

  async function sendWithUnknownKey(app: RunningApp): Promise<NonNullable<typeof unknownKeyAnswer>> {
    try {
      await clientOf(app, UNKNOWN_KEY).chat.completions.create({ model: LLAMA, messages: [{ role: 'user', content: CHAT_PROMPT }] });
      return { status: 200 };
    } catch (err) {
      if (err instanceof APIError) {
        return { status: err.status, code: err.code };
      }
      throw err;
    }
  }

  beforeAll(async () => {
    requirePrometheus(); // no `prometheus` on PATH: every test below fails with this message
    for (const replica of REPLICAS) {
      apps.set(
        replica,
        await startApp(
          AppModule.register({
            tokenDelayMs: 5,
            metricsToken: SCRAPE_TOKEN,
            apiKeys: API_KEYS,
            metrics: { defaultLabels: { instance: replica } },
          }),
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
      if (round === 1) {
        unknownKeyAnswer = await sendWithUnknownKey(apps.get('replica-a')!);
      }
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

  it('counts each (instance, tenant, model, endpoint, request_type, status) series exactly as sent', async () => {
    const keyOf = (labels: Record<string, string>) =>
      ['instance', 'tenant', 'model', 'endpoint', 'request_type', 'status'].map((label) => labels[label]).join(' ');
    const samples = await prometheus!.queryVector(`sum by (instance, tenant, model, endpoint, request_type, status) (${REQUESTS})`);
    const counted = Object.fromEntries(samples.map((sample) => [keyOf(sample.labels), sample.value]));
    expect(counted).toEqual(expectedBy((call) => keyOf(countedAs(call))));
  });

  it('sum by (tenant) of requests_total is the requests each API key sent, its 404s included (counted as errors of its tenant)', async () => {
    const counted = byLabel(await prometheus!.queryVector(`sum by (tenant) (${REQUESTS})`), 'tenant');
    expect(counted).toEqual(expectedBy((call) => call.tenant));
    expect(counted).toEqual({ acme: 12, beta: 20 });
    const errors = byLabel(await prometheus!.queryVector(`sum by (tenant) (${REQUESTS}{status="error"})`), 'tenant');
    expect(errors).toEqual(expectedBy((call) => (SERVED.has(call.model) ? undefined : call.tenant)));
    expect(errors).toEqual({ acme: 2, beta: 4 });
  });

  it('sums output and input tokens by tenant as the traffic implies (16 per completion; the prompt tokens of each reported usage)', async () => {
    const perTenant = async (promql: string) => byLabel(await prometheus!.queryVector(promql), 'tenant');
    const output = await perTenant('sum by (tenant) (nv_llm_http_service_output_sequence_tokens_sum)');
    expect(output).toEqual(expectedSumBy((call) => call.tenant, outputTokensOf));
    expect(output).toEqual({ acme: 128, beta: 192 });
    expect(await perTenant('sum by (tenant) (nv_llm_http_service_output_sequence_tokens_count)')).toEqual(
      expectedSumBy(
        (call) => call.tenant,
        (call) => (outputTokensOf(call) === undefined ? undefined : 1),
      ),
    );
    const input = await perTenant('sum by (tenant) (nv_llm_http_service_input_sequence_tokens_sum)');
    expect(input).toEqual(expectedSumBy((call) => call.tenant, inputTokensOf));
    expect(input).toEqual({ acme: 26, beta: 24 });
    expect(await perTenant('sum by (tenant) (nv_llm_http_service_input_sequence_tokens_count)')).toEqual(
      expectedSumBy(
        (call) => call.tenant,
        (call) => (inputTokensOf(call) === undefined ? undefined : 1),
      ),
    );
    // And split by replica: each tenant's tokens where they were served.
    const keyOf = (labels: Record<string, string>) => `${labels.instance} ${labels.tenant}`;
    for (const [family, tokensOf] of [
      ['output', outputTokensOf],
      ['input', inputTokensOf],
    ] as const) {
      const samples = await prometheus!.queryVector(`sum by (instance, tenant) (nv_llm_http_service_${family}_sequence_tokens_sum)`);
      expect({ family, sums: Object.fromEntries(samples.map((sample) => [keyOf(sample.labels), sample.value])) }).toEqual({
        family,
        sums: expectedSumBy((call) => `${call.replica} ${call.tenant}`, tokensOf),
      });
    }
  });

  it('puts the tenant label on requests_total, the token histograms and the answer counters only, not on the latency histograms or the in-flight gauge', async () => {
    const labelled = await prometheus!.queryVector(`count by (__name__) ({job="${JOB}", __name__=~"nv_llm_.+", tenant!=""})`);
    const tokenSeries = ['input', 'output'].flatMap((family) =>
      ['bucket', 'count', 'sum'].map((suffix) => `nv_llm_http_service_${family}_sequence_tokens_${suffix}`),
    );
    const answerSeries = ['finish_reasons_total', 'cached_prompt_tokens_total', 'reasoning_tokens_total'].map(
      (name) => `nv_llm_http_service_${name}`,
    );
    expect(labelled.map((sample) => sample.labels.__name__).sort()).toEqual([REQUESTS, ...tokenSeries, ...answerSeries].sort());
  });

  it('answers a request with an unknown API key 401 and counts it nowhere: not in any total, under no tenant, no overflow', async () => {
    expect(unknownKeyAnswer).toEqual({ status: 401, code: 'invalid_api_key' });
    const sent = ROUND.reduce((sum, call) => sum + call.times * ROUNDS, 0);
    const total = async (promql: string) => (await prometheus!.queryVector(promql)).map((sample) => sample.value);
    expect(await total(`sum(${REQUESTS})`)).toEqual([sent]);
    expect(await total('sum(nv_llm_http_service_request_duration_seconds_count)')).toEqual([sent]);
    // Every series that carries the label names one of the two tenants: no missing (''), no `other`.
    const tenants = await prometheus!.queryVector(
      `count by (tenant) ({job="${JOB}", __name__=~"${REQUESTS}|nv_llm_http_service_(input|output)_sequence_tokens_(bucket|count|sum)"})`,
    );
    expect(tenants.map((sample) => sample.labels.tenant).sort()).toEqual([...TENANTS]);
    const overflow = await prometheus!.queryVector('nv_llm_label_overflow_total{label="tenant"}');
    expect(
      overflow
        .map((sample) => ({ instance: sample.labels.instance, value: sample.value }))
        .sort((a, b) => a.instance.localeCompare(b.instance)),
    ).toEqual(REPLICAS.map((instance) => ({ instance, value: 0 })));
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
        expect({ variable: variable.name, query, isLabelValues: match !== null }).toEqual({
          variable: variable.name,
          query,
          isLabelValues: true,
        });
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

    it('returns data for every panel query after the traffic, every value finite, for each tenant where it is by tenant', async () => {
      // The Answers row needs tool calls, reasoning and cut-offs, the Service levels row the slo option and the rules, the
      // Gateway row an upstream: prometheus-answers, prometheus-slo and prometheus-gateway.e2e-spec.ts drive them and check their values.
      const elsewhere = new Set([
        ...panelsOfRow(dashboard, 'Answers'),
        ...panelsOfRow(dashboard, 'Service levels'),
        ...panelsOfRow(dashboard, 'Gateway'),
      ]);
      for (const { panel, refId, expr } of panelQueries(dashboard).filter((query) => !elsewhere.has(query.panel))) {
        const samples = await prometheus!.queryVector(substitute(expr, dashboard));
        const nonFinite = samples.filter((sample) => !Number.isFinite(sample.value));
        const byTenant = /\bby \([^)]*\btenant\b/.test(expr);
        const tenants = byTenant ? [...new Set(samples.map((sample) => sample.labels.tenant))].sort() : undefined;
        expect({ panel: panel.title, refId, series: samples.length > 0, nonFinite, tenants }).toEqual({
          panel: panel.title,
          refId,
          series: true,
          nonFinite: [],
          tenants: byTenant ? [...TENANTS] : undefined,
        });
      }
    });

    it('shows the traffic in its key panels: request rate per model, error ratio, TTFT p99 per streamed model, output tokens/s, requests and tokens/s by tenant', async () => {
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
      // No client left before its answer: the cancellations' share is 0 (and without the error_type label, the query still answers).
      expect(byLabel(await run('Error ratio by model', 'B'), 'model')).toEqual({ [LLAMA]: 0, [SMALL]: 0, [UNKNOWN]: 0 });

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

      // Both tenants sent requests, output tokens and input tokens in both rounds: each has a positive rate.
      for (const [title, refId] of [
        ['Request rate by tenant', 'A'],
        ['Token throughput by tenant', 'A'],
        ['Token throughput by tenant', 'B'],
      ]) {
        const perTenant = byLabel(await run(title, refId), 'tenant');
        expect({ title, refId, tenants: Object.keys(perTenant).sort() }).toEqual({ title, refId, tenants: [...TENANTS] });
        expect({ title, refId, positive: Object.values(perTenant).every((value) => value > 0) }).toEqual({ title, refId, positive: true });
      }
    });
  });
});
