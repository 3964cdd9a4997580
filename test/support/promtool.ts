import { spawnSync } from 'node:child_process';

/**
 * Runs `promtool check metrics` (Debian's `prometheus` package) on an
 * exposition. `.ci/run` installs it; a machine without it fails the test
 * rather than skipping it.
 */
export function promtoolCheck(exposition: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) {
    throw new Error(`promtool could not run (apt-get install prometheus): ${result.error.message}`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
