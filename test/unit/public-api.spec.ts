import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '../..');

/** The names `src/index.ts` exports, values and types, as TypeScript sees them. */
function exportedNames(): string[] {
  const entry = join(root, 'src/index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(symbol).map(({ name }) => name);
}

/** The names docs/api.md lists: each backticked name in the first cell of a table row. */
function documentedNames(): string[] {
  const api = readFileSync(join(root, 'docs/api.md'), 'utf8');
  return api
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1].matchAll(/`(\w+)`/g)].map(([, name]) => name));
}

describe('the public API', () => {
  let exported: string[];
  beforeAll(() => {
    exported = exportedNames();
  });

  it('is what docs/api.md lists, name for name', () => {
    expect(documentedNames().sort()).toEqual([...exported].sort());
  });

  it('exports nothing of the rendering mechanism: no writers, buffers or slice schedulers', () => {
    expect(exported.filter((name) => /Writer|Buffers|Slices|Store|Family|Series/.test(name))).toEqual([]);
  });
});
