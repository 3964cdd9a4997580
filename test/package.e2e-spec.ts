import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * The published package as a user gets it: `npm pack`, installed into a
 * fresh consumer app, compiled by `tsc` against the shipped `.d.ts`, run.
 */
describe('the packed tarball', () => {
  let workdir: string;

  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), 'llm-metrics-pack-'));
  });
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it('installs into a NestJS 12 ESM app, compiles against its types and tracks a request', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', workdir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((file) => file.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.some((file) => file.startsWith('src/') || file.startsWith('test/'))).toBe(false);

    const consumer = join(workdir, 'consumer');
    cpSync(join(root, 'test/consumer'), consumer, { recursive: true });
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, 'nestjs-llm-metrics'), { recursive: true });
    execFileSync('tar', ['-xzf', join(workdir, packed[0].filename), '-C', join(modules, 'nestjs-llm-metrics'), '--strip-components=1']);
    // The consumer's other dependencies are this repository's, so that one copy of Nest is loaded.
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (entry !== '.bin' && entry !== 'nestjs-llm-metrics' && !entry.startsWith('.')) {
        symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
      }
    }

    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', consumer], { cwd: consumer, stdio: 'pipe' });
    const output = execFileSync(process.execPath, [join(consumer, 'dist/main.js')], { cwd: consumer, encoding: 'utf8' });
    expect(output).toContain(
      'nv_llm_http_service_requests_total{model="consumer-model",endpoint="chat_completions",request_type="unary",status="success"} 1',
    );
    expect(output).toContain('count=1');
  });
});
