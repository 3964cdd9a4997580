import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import ts from 'typescript';

/*
 * Every TypeScript snippet of the README and the docs, as a user pastes it:
 * each ```ts block a module of its own, type-checked against the package's
 * types (its entry point, `nestjs-llm-metrics`) and the real packages it
 * imports. A snippet that does not compile fails here, naming its document
 * and line.
 */

const root = resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n');
const documents = tracked.filter((file) => file.endsWith('.md') && !file.startsWith('test/') && !file.startsWith('bench/'));

interface Snippet {
  /** Where it is: the document and the line of its opening fence. */
  readonly where: string;
  readonly file: string;
  readonly code: string;
}

/** The ```ts blocks of `document` (indented ones in lists too), their indentation removed. */
function snippetsOf(document: string): Snippet[] {
  const lines = readFileSync(join(root, document), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(?:ts|typescript)\s*$/.exec(lines[i]);
    if (!open) {
      continue;
    }
    const indent = open[1];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j].trimEnd() !== `${indent}\`\`\``; j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    const code = body.join('\n');
    snippets.push({
      where: `${document}:${i + 1}`,
      // In the document's folder, so that a snippet of the sample imports the sample's files as the sample does.
      file: join(root, dirname(document), `__snippet_${basename(document, '.md')}_${i + 1}.ts`),
      // A snippet without an import or export is a script to TypeScript: made a module, as a file of an app is.
      code: /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`,
    });
    i = j;
  }
  return snippets;
}

const snippets = documents.flatMap(snippetsOf);

/** The diagnostics of compiling every snippet, by snippet. */
function compileSnippets(): Map<string, string[]> {
  const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const compilerOptions: ts.CompilerOptions = {
    ...options,
    noEmit: true,
    types: ['node', 'jest'],
    baseUrl: root,
    // The package as users import it: its entry point.
    paths: { 'nestjs-llm-metrics': ['./src/index.ts'] },
  };
  const files = new Map(snippets.map((snippet) => [snippet.file, snippet.code]));
  const host = ts.createCompilerHost(compilerOptions);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => files.get(file) ?? readFile(file);
  host.fileExists = (file) => files.has(file) || fileExists(file);
  host.getSourceFile = (file, language, onError, shouldCreate) =>
    files.has(file) ? ts.createSourceFile(file, files.get(file)!, language, true) : getSourceFile(file, language, onError, shouldCreate);
  const program = ts.createProgram([...files.keys()], compilerOptions, host);
  const byFile = new Map<string, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName;
    if (file === undefined || !files.has(file)) {
      continue;
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    (byFile.get(file) ?? byFile.set(file, []).get(file)!).push(
      `line ${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
    );
  }
  return byFile;
}

describe('the TypeScript snippets of the README and the docs', () => {
  let diagnostics: Map<string, string[]>;
  beforeAll(() => {
    diagnostics = compileSnippets();
  }, 120_000);

  it('are there to check', () => {
    expect(snippets.length).toBeGreaterThan(10);
  });

  it.each(snippets.map((snippet) => [snippet.where, snippet]))('%s compiles as pasted', (_, snippet) => {
    expect(diagnostics.get((snippet as Snippet).file) ?? []).toEqual([]);
  });
});
