import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './node-process.js';

/**
 * A real Prometheus server (Debian's `prometheus` package, as `.ci/run`
 * installs it) on 127.0.0.1 at an ephemeral port, with a generated config and
 * a throw-away TSDB in a temp dir, and a small client of its HTTP API.
 */

/** One scrape job of the generated config. */
export interface ScrapeJob {
  jobName: string;
  /** `host:port` of each static target. */
  targets: string[];
  metricsPath?: string;
  /** Keep the labels of the exposition (e.g. an `instance` default label) over the target's own. */
  honorLabels?: boolean;
  /** Sent as `Authorization: Bearer <token>` with each scrape. */
  bearerToken?: string;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Both `scrape_interval` and `evaluation_interval` (default 1). */
  intervalSeconds?: number;
  /** How long to wait for `/-/ready` (default 15 s). */
  readyTimeoutMs?: number;
  /** Feature flags, each given as `--enable-feature=<flag>` (e.g. `exemplar-storage`). */
  features?: string[];
  /** Rule files to load (absolute paths), evaluated every `intervalSeconds`. */
  ruleFiles?: string[];
}

/** A sample of an instant vector, its value parsed (`NaN`, `±Inf` included). */
export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

/** The body of any answer of the HTTP API. */
export interface ApiAnswer<T = unknown> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/** The exemplars of one series, as `/api/v1/query_exemplars` gives them. */
export interface SeriesExemplars {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

export interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}

/** A target as `/api/v1/targets` reports it. */
export interface ActiveTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PrometheusServer {
  readonly baseUrl: string;
  readonly config: string;
  /** `GET /api/v1/query`: the whole answer, whatever its status. */
  queryAnswer(expr: string): Promise<ApiAnswer<QueryData>>;
  /** An instant query that must succeed and give a vector. */
  queryVector(expr: string): Promise<VectorSample[]>;
  /** `GET /api/v1/label/<name>/values`, optionally with `match[]` selectors: the whole answer. */
  labelValuesAnswer(label: string, match?: string[]): Promise<ApiAnswer<string[]>>;
  /** `GET /api/v1/series` with `match[]` selectors: the whole answer. */
  seriesAnswer(match: string[]): Promise<ApiAnswer<Record<string, string>[]>>;
  /** `GET /api/v1/query_exemplars` over the last `lookbackSeconds` (default 300): the whole answer. */
  exemplarsAnswer(expr: string, lookbackSeconds?: number): Promise<ApiAnswer<SeriesExemplars[]>>;
  /** The active targets and their health. */
  targets(): Promise<ActiveTarget[]>;
  /** The last lines Prometheus logged, for failure messages. */
  logs(): string;
  /** SIGTERM, wait for the exit (SIGKILL after a while), remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const BINARY = 'prometheus';
const LOG_LIMIT = 20_000;
const HTTP_TIMEOUT_MS = 5_000;

/**
 * The version line of the `prometheus` on PATH. Throws a clear error if there
 * is none: the end-to-end test must fail, not skip, on a machine without it.
 */
export function requirePrometheus(): string {
  const result = spawnSync(BINARY, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) {
    const reason = result.error ? result.error.message : `exit status ${result.status}: ${result.stderr}`;
    throw new Error(
      `The \`${BINARY}\` server is required by this test but could not run (${reason}). ` +
        "Install Debian's package (apt-get install -y prometheus), as .ci/run does.",
    );
  }
  return `${result.stdout}${result.stderr}`.split('\n')[0];
}

/** The YAML config (JSON-quoted strings) for `jobs`. */
export function prometheusConfig(jobs: ScrapeJob[], intervalSeconds = 1, ruleFiles: string[] = []): string {
  const lines = [
    'global:',
    `  scrape_interval: ${intervalSeconds}s`,
    `  scrape_timeout: ${intervalSeconds}s`,
    `  evaluation_interval: ${intervalSeconds}s`,
    ...(ruleFiles.length === 0 ? [] : ['rule_files:', ...ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)]),
    'scrape_configs:',
  ];
  for (const job of jobs) {
    lines.push(
      `  - job_name: ${JSON.stringify(job.jobName)}`,
      `    metrics_path: ${JSON.stringify(job.metricsPath ?? '/metrics')}`,
      `    honor_labels: ${job.honorLabels === true}`,
      ...(job.bearerToken === undefined
        ? []
        : ['    authorization:', '      type: Bearer', `      credentials: ${JSON.stringify(job.bearerToken)}`]),
      '    static_configs:',
      `      - targets: [${job.targets.map((target) => JSON.stringify(target)).join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true when `child` has exited, false after `ms`. */
async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) {
    return true;
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(exited(child));
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function getJson<T>(url: string): Promise<ApiAnswer<T>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const text = await response.text();
  try {
    return JSON.parse(text) as ApiAnswer<T>;
  } catch {
    throw new Error(`${url}: HTTP ${response.status}, not JSON: ${text.slice(0, 500)}`);
  }
}

/** Parses a sample value as the API writes it (`"NaN"`, `"+Inf"`, `"-Inf"`, decimals). */
export function parseSampleValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw); // "NaN" → NaN
}

/** Starts Prometheus with a config for `options.jobs` and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  requirePrometheus();
  const dir = await mkdtemp(join(tmpdir(), 'llm-metrics-prometheus-'));
  const config = prometheusConfig(options.jobs, options.intervalSeconds ?? 1, options.ruleFiles);
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const attempts = 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // Prometheus binds it a moment later: a lost race is retried.
    const port = await freePort();
    try {
      return await launch(dir, configFile, config, port, options.readyTimeoutMs ?? 15_000, options.features ?? []);
    } catch (err) {
      lastError = err;
      // Only a port taken between freePort() and the bind is worth another try.
      if (!(err instanceof Error && /address already in use/i.test(err.message))) {
        break;
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(
  dir: string,
  configFile: string,
  config: string,
  port: number,
  readyTimeoutMs: number,
  features: string[],
): Promise<PrometheusServer> {
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, `data-${port}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=info',
      ...features.map((feature) => `--enable-feature=${feature}`),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  // If the test process exits without afterAll (a crash), do not leave the server behind.
  const killOnExit = () => {
    if (!exited(child)) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        if (!exited(child)) {
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 10_000))) {
            child.kill('SIGKILL');
            await waitForExit(child, 5_000);
          }
        }
      } finally {
        process.off('exit', killOnExit);
        await rm(dir, { recursive: true, force: true });
      }
    })());

  const server: PrometheusServer = {
    baseUrl,
    config,
    queryAnswer: (expr) => getJson<QueryData>(`${baseUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`),
    async queryVector(expr) {
      const answer = await server.queryAnswer(expr);
      if (answer.status !== 'success' || answer.data?.resultType !== 'vector') {
        throw new Error(`query ${expr}: ${JSON.stringify(answer)}`);
      }
      return (answer.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => ({
        labels: sample.metric,
        value: parseSampleValue(sample.value[1]),
      }));
    },
    labelValuesAnswer(label, match = []) {
      const params = new URLSearchParams(match.map((selector): [string, string] => ['match[]', selector]));
      return getJson<string[]>(`${baseUrl}/api/v1/label/${encodeURIComponent(label)}/values?${params}`);
    },
    seriesAnswer(match) {
      const params = new URLSearchParams(match.map((selector): [string, string] => ['match[]', selector]));
      return getJson<Record<string, string>[]>(`${baseUrl}/api/v1/series?${params}`);
    },
    exemplarsAnswer(expr, lookbackSeconds = 300) {
      const end = Date.now() / 1000;
      const params = new URLSearchParams({ query: expr, start: String(end - lookbackSeconds), end: String(end + 60) });
      return getJson<SeriesExemplars[]>(`${baseUrl}/api/v1/query_exemplars?${params}`);
    },
    async targets() {
      const answer = await getJson<{ activeTargets: ActiveTarget[] }>(`${baseUrl}/api/v1/targets?state=active`);
      return answer.data?.activeTargets ?? [];
    },
    logs: () => output,
    stop,
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (let poll = 0; poll < 400; poll++) {
    if (spawnError || exited(child)) {
      await stop();
      throw new Error(
        `prometheus exited before it was ready (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}):\n${output}`,
      );
    }
    try {
      const response = await fetch(`${baseUrl}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) {
        return server;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      break;
    }
    await sleep(50);
  }
  await stop();
  throw new Error(`prometheus was not ready within ${readyTimeoutMs} ms:\n${output}`);
}

/**
 * Polls `read` until `done` holds: at most `maxPolls` times and `timeoutMs`.
 * Returns the last value read either way; the caller asserts on it.
 */
/** Polls until Prometheus has `count` targets and every one is up (20 s at most). */
export function targetsUp(prometheus: PrometheusServer, count: number): Promise<{ value: ActiveTarget[]; done: boolean }> {
  return pollUntil(
    () => prometheus.targets(),
    (targets) => targets.length === count && targets.every((target) => target.health === 'up'),
    { timeoutMs: 20_000 },
  );
}

export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 200, maxPolls = 200 } = {},
): Promise<{ value: T; done: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  for (let poll = 1; poll < maxPolls && !done(value) && Date.now() < deadline; poll++) {
    await sleep(intervalMs);
    value = await read();
  }
  return { value, done: done(value) };
}
