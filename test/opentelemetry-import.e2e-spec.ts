import { scrape } from './support/http.js';
import { type NodeProcess, buildSample, freePort, runSample } from './support/node-process.js';

/** Fails any ES module import of `@opentelemetry/*` in the process it is preloaded in. */
const FORBID_OPENTELEMETRY = ['--import', './test/processes/forbid-opentelemetry.mjs'];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** `@opentelemetry/api` is an optional peer: loaded for the options that use it, never otherwise. */
describe('importing OpenTelemetry only when an option asks for it', () => {
  let server: NodeProcess | undefined;
  beforeAll(buildSample);
  afterEach(() => {
    server?.child.kill('SIGTERM');
  });

  /** Serves the sample, where importing OpenTelemetry fails, with `env`; resolves with its port once it listens. */
  async function serveWithoutOpenTelemetry(env: Record<string, string>): Promise<number> {
    const port = await freePort();
    server = runSample('main', { PORT: String(port), HOST: '127.0.0.1', TOKEN_DELAY_MS: '0', ...env }, FORBID_OPENTELEMETRY);
    await server.waitFor(`http://localhost:${port}/metrics`);
    return port;
  }

  /** Sends a streamed chat with a `traceparent` header, and reads the metrics as OpenMetrics. */
  async function chatAndScrape(port: number): Promise<string> {
    const chat = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: TRACEPARENT },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    });
    expect(chat.status).toBe(200);
    await chat.text();
    return scrape(`http://127.0.0.1:${port}`, '/metrics', 'application/openmetrics-text; version=1.0.0');
  }

  it('imports nothing of OpenTelemetry without the options, and measures as always', async () => {
    const port = await serveWithoutOpenTelemetry({});
    const metrics = await chatAndScrape(port);
    expect(metrics).toContain(
      'nv_llm_http_service_requests_total{model="mock-llama-3-8b",endpoint="chat_completions",request_type="stream",status="success"} 1',
    );
    expect(metrics).not.toContain(TRACE_ID);
    expect(server!.output()).not.toContain('forbidden import');
  });

  it('fails at start-up, saying what to install, with openTelemetry and no @opentelemetry/api to import (the control)', async () => {
    const port = await freePort();
    server = runSample('main', { PORT: String(port), HOST: '127.0.0.1', METRICS_OPENTELEMETRY: '1' }, FORBID_OPENTELEMETRY);
    const exitCode = await new Promise<number | null>((resolveExit) => server!.child.on('exit', resolveExit));
    expect(exitCode).not.toBe(0);
    expect(server.output()).toContain('the openTelemetry option needs the @opentelemetry/api package: npm install @opentelemetry/api');
    expect(server.output()).not.toContain(`http://localhost:${port}/metrics`);
  });

  it('takes exemplars from the traceparent header when @opentelemetry/api cannot be imported', async () => {
    const port = await serveWithoutOpenTelemetry({ METRICS_EXEMPLARS: '1' });
    const metrics = await chatAndScrape(port);
    expect(metrics).toContain(`trace_id="${TRACE_ID}"`);
  });
});
