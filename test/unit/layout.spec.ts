import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** Every TypeScript file under `src/`, relative to it. */
function sourceFiles(dir = join(root, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [relative(join(root, 'src'), join(dir, entry.name))]
        : [],
  );
}

/** The files the table of `docs/design.md`'s "The pieces" lists: a row's folder (or the one above it), and each file it names. */
function listedFiles(): string[] {
  const design = readFileSync(join(root, 'docs/design.md'), 'utf8');
  const section = design.slice(design.indexOf('## The pieces'), design.indexOf('\n## ', design.indexOf('## The pieces') + 1));
  let folder = '';
  const files: string[] = [];
  for (const line of section.split('\n').filter((row) => /^\| [^-]/.test(row) && !row.startsWith('| folder'))) {
    const [folderCell, fileCell] = line.split('|').slice(1, 3);
    folder = /`([\w-]+\/)`/.exec(folderCell)?.[1] ?? (folderCell.trim() === '`src/`' ? '' : folder);
    for (const [, file] of fileCell.matchAll(/`([\w.-]+\.ts)`/g)) {
      files.push(`${folderCell.trim() === '`src/`' ? '' : folder}${file}`);
    }
  }
  return files;
}

describe('the layout of src/', () => {
  it("lists every source file in docs/design.md's table of pieces, and only those", () => {
    expect(listedFiles().sort()).toEqual(sourceFiles().sort());
  });

  it('keeps every source file under 400 lines, and the service a facade of at most 250', () => {
    const lines = (file: string) => readFileSync(join(root, 'src', file), 'utf8').split('\n').length;
    expect(sourceFiles().filter((file) => lines(file) > 400)).toEqual([]);
    expect(lines('recording/llm-metrics.service.ts')).toBeLessThanOrEqual(250);
  });
});
