import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { ADAPTERS, eventually } from './support/http.js';

const root = resolve(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `npm start` as the README's quick start runs it: build the sample, serve it, print where. */
describe('npm start', () => {
  let server: ChildProcess | undefined;
  beforeAll(() => {
    execFileSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', resolve(root, 'tsconfig.sample.json')], {
      cwd: root,
      stdio: 'pipe',
    });
  });
  afterEach(() => {
    server?.kill('SIGTERM');
  });

  it.each(ADAPTERS)('serves the sample API and /metrics on PORT, and says where (ADAPTER=%s)', async (adapter) => {
    const port = await freePort();
    server = spawn(process.execPath, [resolve(root, 'dist-sample/sample/main.js')], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', TOKEN_DELAY_MS: '0', ADAPTER: adapter },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(
      async () => output,
      (text) => text.includes(`http://localhost:${port}/metrics`),
      15000,
    );
    expect(output).toContain(`http://localhost:${port}/v1 (${adapter})`);
    expect(output).toContain(`http://localhost:${port}/metrics`);
    const chat = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(chat.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(
      'nv_llm_http_service_requests_total{model="mock-llama-3-8b",endpoint="chat_completions",request_type="unary",status="success"} 1',
    );
  });
});
