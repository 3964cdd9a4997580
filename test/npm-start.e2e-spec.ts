import { ADAPTERS } from './support/http.js';
import { type NodeProcess, buildSample, freePort, runSample } from './support/node-process.js';

/** `npm start` as the README's quick start runs it: build the sample, serve it, print where. */
describe('npm start', () => {
  let server: NodeProcess | undefined;
  beforeAll(buildSample);
  afterEach(() => {
    server?.child.kill('SIGTERM');
  });

  /** Serves the sample with `env`, waits until it says where its metrics are, sends one chat: what it printed, and its metrics then. */
  async function serveOneChat(env: Record<string, string>): Promise<{ port: number; output: string; metrics: string }> {
    const port = await freePort();
    server = runSample('main', { PORT: String(port), HOST: '127.0.0.1', TOKEN_DELAY_MS: '0', ...env });
    const output = await server.waitFor(`http://localhost:${port}/metrics`);
    const chat = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(chat.status).toBe(200);
    return { port, output, metrics: await (await fetch(`http://127.0.0.1:${port}/metrics`)).text() };
  }

  it.each(ADAPTERS)('serves the sample API and /metrics on PORT, and says where (ADAPTER=%s)', async (adapter) => {
    const { port, output, metrics } = await serveOneChat({ ADAPTER: adapter });
    expect(output).toContain(`http://localhost:${port}/v1 (${adapter})`);
    expect(output).toContain(`http://localhost:${port}/metrics (dynamo-0.2.1 schema)`);
    expect(metrics).toContain(
      'nv_llm_http_service_requests_total{model="mock-llama-3-8b",endpoint="chat_completions",request_type="unary",status="success"} 1',
    );
  });

  it('serves the metrics in the dynamo-frontend schema with METRICS_SCHEMA=dynamo-frontend, and says so', async () => {
    const { port, output, metrics } = await serveOneChat({ METRICS_SCHEMA: 'dynamo-frontend' });
    expect(output).toContain(`http://localhost:${port}/metrics (dynamo-frontend schema)`);
    expect(metrics).toContain(
      'dynamo_frontend_requests_total{model="mock-llama-3-8b",endpoint="chat_completions",request_type="unary",status="success",error_type=""} 1',
    );
    expect(metrics).toContain('dynamo_frontend_model_ready{model="mock-llama-3-8b"} 1');
    expect(metrics).not.toContain('nv_llm_');
  });
});
