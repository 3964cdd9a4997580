import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
const documents = tracked.filter((file) => file.endsWith('.md') && !file.startsWith('test/'));

/** GitHub's anchor of a heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => anchorOf(line.replace(/^#+ /, '')));
}

/** Whether `path`, named in `document`, is a file of the repository: from the root, from the document's folder, or by its unique name. */
function isRepositoryFile(document: string, path: string): boolean {
  const candidates = [path, join(dirname(document), path)];
  if (candidates.some((candidate) => existsSync(join(root, candidate)))) {
    return true;
  }
  return !path.includes('/') && tracked.filter((file) => basename(file) === path).length === 1;
}

describe('the documentation', () => {
  it('keeps the README for users: at most about 15 kB, with the two quick-start commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(16_000);
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test ');
  });

  it.each(documents)('%s links only to files and headings the repository has', (document) => {
    const text = readFileSync(join(root, document), 'utf8');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) {
        continue;
      }
      const [path, anchor] = target.split('#');
      const file = path === '' ? document : join(dirname(document), path);
      if (!existsSync(join(root, file))) {
        broken.push(target);
      } else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(file).includes(anchor)) {
        broken.push(target);
      }
    }
    expect(broken).toEqual([]);
  });

  it.each(documents)('%s links to the repository only for files it has (a link the package cannot ship)', (document) => {
    const { homepage } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { homepage: string };
    const repository = homepage.replace(/#.*$/, '');
    const text = readFileSync(join(root, document), 'utf8');
    const missing = [...text.matchAll(/\]\((https:\/\/[^)\s]+)\)/g)]
      .map(([, url]) => url)
      .filter((url) => url.startsWith(`${repository}/blob/main/`))
      .map((url) => url.slice(`${repository}/blob/main/`.length).split('#')[0])
      .filter((path) => !existsSync(join(root, path)));
    expect(missing).toEqual([]);
  });

  it.each(documents)('%s names only files the repository has', (document) => {
    const text = readFileSync(join(root, document), 'utf8');
    const named = [...text.matchAll(/`([\w./-]+\.(?:ts|js|mjs|json|md|ya?ml))`/g)].map(([, path]) => path);
    expect(named.filter((path) => !path.startsWith('/') && !isRepositoryFile(document, path))).toEqual([]);
  });
});
