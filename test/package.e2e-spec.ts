import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** The TypeScript versions the package states it supports, the lowest and the newest, beside the repository's own. */
const SUPPORTED_TYPESCRIPT = { lowest: '5.2.2', newest: '7.0.2' } as const;

/** Runs `tsc` (default: the repository's) on a consumer's tsconfig and returns the files of its program (`--listFiles`). */
function compile(consumer: string, ...options: string[]): string {
  return compileWith(tsc, consumer, ...options);
}

function compileWith(compiler: string, consumer: string, ...options: string[]): string {
  return execFileSync(process.execPath, [compiler, '-p', consumer, '--listFiles', ...options], {
    cwd: consumer,
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

/**
 * The published package as a user gets it: `npm pack`, installed into a
 * fresh consumer app, compiled by `tsc` against the shipped `.d.ts`, run.
 * It is a dual package: `import` gets `dist/esm`, `require()` gets `dist/cjs`.
 */
describe('the packed tarball', () => {
  let workdir: string;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), 'llm-metrics-pack-'));
    // `prepack` builds both formats.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', workdir], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = join(workdir, packed[0].filename);
    files = packed[0].files.map((file) => file.path);
  }, 60_000);
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  /** The `tsc` of each supported TypeScript version, installed from the npm registry once. */
  let typescripts: Record<keyof typeof SUPPORTED_TYPESCRIPT, string> | undefined;
  const supportedCompilers = () => {
    if (typescripts === undefined) {
      const dir = join(workdir, 'typescripts');
      mkdirSync(dir);
      execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'pipe' });
      const aliases = Object.entries(SUPPORTED_TYPESCRIPT).map(([name, version]) => `typescript-${name}@npm:typescript@${version}`);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...aliases], {
        cwd: dir,
        stdio: 'pipe',
      });
      typescripts = {
        lowest: join(dir, 'node_modules/typescript-lowest/bin/tsc'),
        newest: join(dir, 'node_modules/typescript-newest/bin/tsc'),
      };
    }
    return typescripts;
  };

  it('ships an ESM and a CommonJS build, each with its types and its module-format marker', () => {
    for (const format of ['esm', 'cjs']) {
      expect(files).toContain(`dist/${format}/index.js`);
      expect(files).toContain(`dist/${format}/index.d.ts`);
      expect(files).toContain(`dist/${format}/package.json`);
      expect(files).toContain(`dist/${format}/nest/llm-metrics.module.js`);
      expect(files).toContain(`dist/${format}/nest/llm-metrics.module.d.ts`);
    }
    // Nothing but the two builds under dist/ (no stale files of an earlier layout), and no sources or tests.
    expect(files.filter((file) => file.startsWith('dist/') && !/^dist\/(esm|cjs)\//.test(file))).toEqual([]);
    expect(files.some((file) => file.startsWith('src/') || file.startsWith('test/') || file.startsWith('scripts/'))).toBe(false);
  });

  it('ships its docs, dashboards, changelog and license, and every link of its Markdown resolves in it or is absolute', () => {
    for (const file of [
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'docs/recipes.md',
      'docs/api.md',
      'docs/runbook.md',
      'bin/nestjs-llm-metrics.mjs',
      'grafana/llm-metrics.json',
      'grafana/llm-metrics-dynamo-frontend.json',
    ]) {
      expect(files).toContain(file);
    }
    const unpacked = join(workdir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
    const broken: string[] = [];
    for (const document of files.filter((file) => file.endsWith('.md'))) {
      const text = readFileSync(join(unpacked, document), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^https:\/\//.test(target)) {
          continue;
        }
        const path = target.split('#')[0];
        if (/^[a-z]+:/.test(target) || (path !== '' && !existsSync(join(unpacked, dirname(document), path)))) {
          broken.push(`${document}: ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      license: 'Apache-2.0',
      repository: { type: 'git' },
      homepage: expect.stringMatching(/^https:/),
      bugs: { url: expect.stringMatching(/^https:/) },
    });
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).toContain(
      'Apache License\n                           Version 2.0, January 2004',
    );
  });

  it('installs into a NestJS 12 ESM app, compiles against its types and tracks a request', () => {
    const consumer = join(workdir, 'consumer');
    cpSync(join(root, 'test/consumer'), consumer, { recursive: true });
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, 'nestjs-llm-metrics'), { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'nestjs-llm-metrics'), '--strip-components=1']);
    // The consumer's other dependencies are this repository's, so that one copy of Nest is loaded.
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (entry !== '.bin' && entry !== 'nestjs-llm-metrics' && !entry.startsWith('.')) {
        symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
      }
    }

    // `import` types: the `import` condition's `.d.ts`.
    const program = compile(consumer);
    expect(program).toContain('node_modules/nestjs-llm-metrics/dist/esm/index.d.ts');
    expect(program).not.toContain('nestjs-llm-metrics/dist/cjs/');
    // The lowest and the newest TypeScript the package states, library checks included (skipLibCheck: false).
    for (const [version, compiler] of Object.entries(supportedCompilers())) {
      expect({ version, program: compileWith(compiler, consumer, '--noEmit') }).toEqual({
        version,
        program: expect.stringContaining('nestjs-llm-metrics/dist/esm/index.d.ts'),
      });
    }
    // `import` at run time: the ESM build.
    const resolved = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "process.stdout.write(import.meta.resolve('nestjs-llm-metrics'))"],
      { cwd: consumer, encoding: 'utf8' },
    );
    expect(resolved).toMatch(/\/node_modules\/nestjs-llm-metrics\/dist\/esm\/index\.js$/);

    const output = execFileSync(process.execPath, [join(consumer, 'dist/main.js')], { cwd: consumer, encoding: 'utf8' });
    expect(output).toContain(
      'nv_llm_http_service_requests_total{model="consumer-model",endpoint="chat_completions",request_type="unary",status="success"} 1',
    );
    expect(output).toContain('count=1');

    // The bin, as `npx nestjs-llm-metrics rules` runs it from the installed package.
    const rules = execFileSync(
      process.execPath,
      [join(modules, 'nestjs-llm-metrics/bin/nestjs-llm-metrics.mjs'), 'rules', '--prefix', 'app'],
      {
        cwd: consumer,
        encoding: 'utf8',
      },
    );
    expect(rules).toContain('record: job_model_endpoint:app_http_service_requests:rate5m');
    expect(rules).toContain('alert: LlmSloBudgetBurnFast');
  });

  it('installs from the npm registry into a CommonJS NestJS 11 app, compiles against its types and tracks requests', () => {
    const consumer = join(workdir, 'consumer-cjs');
    cpSync(join(root, 'test/consumer-cjs'), consumer, { recursive: true });
    // Real NestJS 11 packages (CommonJS), and the tarball: npm checks its peer dependency ranges.
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        '@nestjs/common@^11',
        '@nestjs/core@^11',
        '@nestjs/platform-express@^11',
        'reflect-metadata',
        'rxjs',
        'prom-client@^15',
        tarball,
      ],
      { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Node.js's types only for compiling, from this repository.
    mkdirSync(join(consumer, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@types/node'), join(consumer, 'node_modules/@types/node'));

    // `module: commonjs` resolves as old resolvers do: the `types` fallback.
    const program = compile(consumer);
    expect(program).toContain('node_modules/nestjs-llm-metrics/dist/cjs/index.d.ts');
    expect(program).not.toContain('nestjs-llm-metrics/dist/esm/');
    for (const [version, compiler] of Object.entries(supportedCompilers())) {
      expect({ version, program: compileWith(compiler, consumer, '--noEmit') }).toEqual({
        version,
        program: expect.stringContaining('nestjs-llm-metrics/dist/cjs/index.d.ts'),
      });
    }
    // `module: node16` resolves through `exports`: the `require` condition's `.d.ts`.
    const node16Program = compile(consumer, '--module', 'node16', '--moduleResolution', 'node16', '--noEmit');
    expect(node16Program).toContain('node_modules/nestjs-llm-metrics/dist/cjs/index.d.ts');
    expect(node16Program).not.toContain('nestjs-llm-metrics/dist/esm/');

    const output = execFileSync(process.execPath, [join(consumer, 'dist/main.js')], { cwd: consumer, encoding: 'utf8' });
    expect(output).toMatch(/^nest=11\./m);
    expect(output).toMatch(/^resolved=.*\/node_modules\/nestjs-llm-metrics\/dist\/cjs\/index\.js$/m);
    expect(output).toMatch(/^unary=200 /m);
    expect(output).toMatch(/^stream=200 data: /m);
    expect(output).toContain(
      'nv_llm_http_service_requests_total{model="consumer-model",endpoint="chat_completions",request_type="unary",status="success"} 1',
    );
    expect(output).toContain(
      'nv_llm_http_service_requests_total{model="consumer-model",endpoint="completions",request_type="stream",status="success"} 1',
    );
    // `@RequestMetrics()`: the usage the unary handler reported; the stream: one token per chunk.
    expect(output).toContain('nv_llm_http_service_input_sequence_tokens_sum{model="consumer-model"} 7');
    expect(output).toContain('nv_llm_http_service_output_sequence_tokens_sum{model="consumer-model"} 5');
    expect(output).toContain('nv_llm_http_service_time_to_first_token_seconds_count{model="consumer-model"} 1');
    expect(output).toContain('count=1');
  }, 180_000);
});
