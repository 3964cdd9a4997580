import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { eventually } from './http.js';

const root = resolve(import.meta.dirname, '../..');

/** A port free on 127.0.0.1 right now (whoever binds it a moment later may lose a race for it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('could not get an ephemeral port');
  }
  return address.port;
}

/** Compiles the TypeScript project `tsconfig` of the repository (e.g. `tsconfig.sample.json`, as `npm start` does). */
export function compile(tsconfig: string): void {
  execFileSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', resolve(root, tsconfig)], {
    cwd: root,
    stdio: 'pipe',
  });
}

/** Compiles the sample as `npm start` does. */
export function buildSample(): void {
  compile('tsconfig.sample.json');
}

/** A compiled script running in a child process, with what it printed so far. */
export interface NodeProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Waits (at most `timeoutMs`) until the output contains `text`; resolves with the output. */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
}

/** Runs `dist-sample/sample/<entry>.js` with `env` added to this process's environment, and `nodeOptions` given to Node.js. */
export function runSample(entry: 'main' | 'cluster', env: Record<string, string>, nodeOptions: string[] = []): NodeProcess {
  return runScript(`dist-sample/sample/${entry}.js`, env, nodeOptions);
}

/**
 * Runs the compiled script at `path` (from the repository's root) with `env`
 * added to this process's environment, and `nodeOptions` (e.g. `--import`) given to Node.js.
 */
export function runScript(path: string, env: Record<string, string>, nodeOptions: string[] = []): NodeProcess {
  const child = spawn(process.execPath, [...nodeOptions, resolve(root, path)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    waitFor: (text, timeoutMs = 15_000) =>
      eventually(
        async () => output,
        (current) => current.includes(text),
        timeoutMs,
      ),
  };
}
