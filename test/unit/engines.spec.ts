import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileTypeValidator } from '@nestjs/common';
import semver from 'semver';

const root = resolve(import.meta.dirname, '../..');

/** The packages of the lockfile, and the Node.js versions each declares it runs on. */
function declaredEngines(): [name: string, node: string][] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  return Object.entries(lock.packages)
    .filter(([path]) => path !== '')
    .flatMap(([path, entry]) => {
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      return node === undefined ? [] : [[path.replace(/^.*node_modules\//, ''), node] as [string, string]];
    });
}

describe('the Node.js versions', () => {
  it('that the package states are those it is tested on: Node.js 20 and later', () => {
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(engines.node).toBe('>=20');
    expect(semver.satisfies(process.version, engines.node)).toBe(true);
  });

  it('of every package npm ci installs include the Node.js this runs on: no EBADENGINE warning', () => {
    expect(declaredEngines().filter(([, node]) => !semver.satisfies(process.version, node))).toEqual([]);
  });
});

describe('the file-type pin docs/recipes.md gives users of Node.js 20', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

  it("keeps NestJS's FileTypeValidator reading a file's magic number", async () => {
    const validator = new FileTypeValidator({ fileType: 'image/png' });
    expect(await validator.isValid({ mimetype: 'image/png', size: png.length, buffer: png })).toBe(true);
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
    expect(await validator.isValid({ mimetype: 'image/png', size: gif.length, buffer: gif })).toBe(false);
  });

  it('is the one this repository installs', () => {
    const { overrides } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { overrides: Record<string, string> };
    const recipes = readFileSync(join(root, 'docs/recipes.md'), 'utf8');
    expect(recipes).toContain(`{ "overrides": { "file-type": "${overrides['file-type']}" } }`);
  });
});
