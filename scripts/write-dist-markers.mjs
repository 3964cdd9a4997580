// Writes the package.json markers that give each build its module format:
// dist/cjs is CommonJS although the package root is "type": "module", and
// dist/esm says "module" explicitly. Node.js and TypeScript read the nearest
// package.json, so the .js and .d.ts files of each folder are of its format.
import { writeFileSync } from 'node:fs';

for (const [dir, type] of [
  ['dist/cjs', 'commonjs'],
  ['dist/esm', 'module'],
]) {
  writeFileSync(new URL(`../${dir}/package.json`, import.meta.url), `${JSON.stringify({ type })}\n`);
}
