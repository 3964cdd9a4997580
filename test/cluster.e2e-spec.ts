import { Agent, request as httpRequest } from 'node:http';
import { sumOf, valueOf } from './support/exposition.js';
import { promtoolCheck } from './support/promtool.js';
import { type NodeProcess, buildSample, freePort, runSample } from './support/node-process.js';

const REQUESTS = 'nv_llm_http_service_requests_total';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** POSTs a chat completion with `apiKey`, in a trace, on a fresh connection; resolves with the worker that answered. */
function chat(port: number, agent: Agent, apiKey: string): Promise<string> {
  const body = JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Hi' }] });
  return new Promise((resolveWorker, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${apiKey}`,
          traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolveWorker(String(res.headers['x-worker'])) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Node `cluster`: two workers, one aggregated `/metrics` served by the primary (sample/cluster.ts). */
describe('cluster mode', () => {
  let primary: NodeProcess | undefined;
  afterAll(() => {
    primary?.child.kill('SIGTERM');
  });

  it('serves the counts of every worker summed in one /metrics, tenant by tenant, without the exemplars the workers keep', async () => {
    buildSample();
    const [port, metricsPort] = [await freePort(), await freePort()];
    primary = runSample('cluster', {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      WORKERS: '2',
      TOKEN_DELAY_MS: '0',
      METRICS_EXEMPLARS: '1',
      API_KEYS: 'sk-acme=acme,sk-beta=beta',
    });
    expect(await primary.waitFor('2 workers serving', 20_000)).toContain('2 workers serving');

    // A connection per request, so that the primary spreads them over the workers.
    const agent = new Agent({ keepAlive: false });
    const SENT = 40;
    const workers = new Set<string>();
    const byTenant = { acme: new Set<string>(), beta: new Set<string>() };
    for (let i = 0; i < SENT; i++) {
      const tenant = i % 4 === 0 ? 'beta' : 'acme';
      const worker = await chat(port, agent, `sk-${tenant}`);
      workers.add(worker);
      byTenant[tenant].add(worker);
    }
    expect(workers.size).toBe(2);
    expect(byTenant.acme.size).toBe(2);

    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    const labels = { model: 'mock-llama-3-8b', endpoint: 'chat_completions', request_type: 'unary', status: 'success' };
    expect(valueOf(text, REQUESTS, { ...labels, tenant: 'acme' })).toBe((SENT * 3) / 4);
    expect(valueOf(text, REQUESTS, { ...labels, tenant: 'beta' })).toBe(SENT / 4);
    expect(sumOf(text, 'nv_llm_http_service_output_sequence_tokens_count', { tenant: 'acme' })).toBe((SENT * 3) / 4);
    expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(0);
    expect(valueOf(text, 'nv_llm_http_service_request_duration_seconds_count', { model: 'mock-llama-3-8b' })).toBe(SENT);
    expect(sumOf(text, 'nv_llm_http_service_inflight_requests')).toBe(0);
    // prom-client's aggregation keeps each sample's value and labels only, and renders the classic format (docs/cluster.md).
    expect(text).not.toContain(TRACE_ID);
    const { status, output: lint } = promtoolCheck(text);
    expect(lint).toBe('');
    expect(status).toBe(0);
  }, 60_000);
});
