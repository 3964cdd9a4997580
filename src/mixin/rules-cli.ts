import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { SchemaName } from '../schemas/schema.js';
import { type PrometheusRuleFile, prometheusRules } from './prometheus-rules.js';

const USAGE = `Usage: nestjs-llm-metrics rules [--schema dynamo-0.2.1|dynamo-frontend] [--prefix nv_llm] [--objective 0.99] [--error-ratio 0.05] [--out DIR]

Writes the Prometheus recording and alerting rules of the metrics: to DIR as
llm-metrics.rules.yml and llm-metrics.alerts.yml, or both to the standard
output without --out. Check them with \`promtool check rules\`.`;

/** A rule file as YAML, long expressions kept on one line. */
export function ruleFileYaml(file: PrometheusRuleFile): string {
  return stringify(file, { lineWidth: 0 });
}

/**
 * Runs `nestjs-llm-metrics <args>`: `rules` writes the rule files
 * (`prometheusRules()`, as YAML). Returns the exit code; writes to `out`
 * and `err`.
 */
export function runCli(args: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  const [command, ...rest] = args;
  if (command !== 'rules') {
    err(`${command === undefined || command === '--help' ? '' : `unknown command "${command}"\n`}${USAGE}\n`);
    return command === '--help' ? 0 : 2;
  }
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: {
        schema: { type: 'string' },
        prefix: { type: 'string' },
        objective: { type: 'string' },
        'error-ratio': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
    if (values.help) {
      out(`${USAGE}\n`);
      return 0;
    }
    const share = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));
    const { recording, alerts } = prometheusRules({
      schema: values.schema as SchemaName | undefined,
      prefix: values.prefix,
      objective: share(values.objective),
      errorRatio: share(values['error-ratio']),
    });
    if (values.out === undefined) {
      out(ruleFileYaml({ groups: [...recording.groups, ...alerts.groups] }));
    } else {
      mkdirSync(values.out, { recursive: true });
      for (const [name, file] of [
        ['llm-metrics.rules.yml', recording],
        ['llm-metrics.alerts.yml', alerts],
      ] as const) {
        writeFileSync(join(values.out, name), ruleFileYaml(file));
        out(`wrote ${join(values.out, name)}\n`);
      }
    }
    return 0;
  } catch (error) {
    err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
}
