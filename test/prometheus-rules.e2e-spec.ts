import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { type PrometheusRule, type SchemaName, prometheusRules } from '../src/index.js';
import { runCli } from '../src/mixin/rules-cli.js';

/*
 * The generated rules against Prometheus's own tools: `promtool check rules`
 * on every file the CLI writes, then `promtool test rules` driving synthetic
 * series through each alert, showing it fire past its threshold, stay quiet
 * below it, and resolve.
 */

/** Each schema, the start of its metric names, and what a prefix is followed by. */
const SCHEMAS: [SchemaName, string, string][] = [
  ['dynamo-0.2.1', 'nv_llm_http_service_', '_http_service_'],
  ['dynamo-frontend', 'dynamo_frontend_', '_'],
];

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) {
    throw new Error(`promtool could not run (apt-get install prometheus): ${result.error.message}`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The CLI's output and exit code, run in process. */
function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(
    args,
    (text) => (out += text),
    (text) => (err += text),
  );
  return { code, out, err };
}

/** A counter growing by `perMinute` for `minutes`, then by `after` a minute for `afterMinutes`: promtool's expanding notation. */
const growing = (perMinute: number, minutes: number, after = perMinute, afterMinutes = 0) =>
  afterMinutes === 0 ? `0+${perMinute}x${minutes}` : `0+${perMinute}x${minutes} ${perMinute * minutes}+${after}x${afterMinutes}`;

describe.each(SCHEMAS)('the Prometheus rules for %s', (schema, m, infix) => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { alerts } = prometheusRules({ schema });
  const alertRules = alerts.groups[0].rules;
  const alertNamed = (name: string): PrometheusRule => alertRules.find((rule) => rule.alert === name)!;
  /** The alert's annotations for `labels`, as Prometheus renders their `{{ $labels.x }}`. */
  const annotationsOf = (name: string, labels: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(alertNamed(name).annotations ?? {}).map(([key, text]) => [
        key,
        text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, label: string) => labels[label] ?? ''),
      ]),
    );
  const firing = (name: string, labels: Record<string, string>) => ({
    exp_labels: { ...labels, ...alertNamed(name).labels },
    exp_annotations: annotationsOf(name, labels),
  });

  it('writes the two rule files with the CLI, each passing promtool check rules', () => {
    const { code, out } = cli(['rules', '--schema', schema, '--out', dir]);
    expect(code).toBe(0);
    expect(out).toBe(`wrote ${join(dir, 'llm-metrics.rules.yml')}\nwrote ${join(dir, 'llm-metrics.alerts.yml')}\n`);
    for (const file of ['llm-metrics.rules.yml', 'llm-metrics.alerts.yml']) {
      const { status, output } = promtool(['check', 'rules', file], dir);
      expect({ file, status, output }).toEqual({ file, status: 0, output: expect.stringMatching(/SUCCESS: \d+ rules found/) });
    }
    // The YAML is the rules, read back.
    expect(parse(readFileSync(join(dir, 'llm-metrics.alerts.yml'), 'utf8'))).toEqual(alerts);
  });

  it('prints both groups to the standard output without --out, and refuses bad options naming them', () => {
    const printed = cli(['rules', '--schema', schema, '--prefix', 'my_app']);
    expect(printed.code).toBe(0);
    expect(parse(printed.out).groups.map((group: { name: string }) => group.name)).toEqual([
      `my_app${infix}recording`,
      `my_app${infix}alerts`,
    ]);
    expect(cli(['rules', '--objective', '99']).err).toContain('option "objective" must be a number between 0 and 1');
    expect(cli(['rules', '--prefix', 'bad prefix']).err).toContain('option "prefix" must be');
    expect(cli(['rules', '--schema', 'dynamo-9']).err).toContain('option "schema" must be one of');
    expect(cli(['rules', '--colour']).code).toBe(2);
    expect(cli(['alerts']).err).toContain('unknown command "alerts"');
  });

  it('fires each alert past its threshold, not below it, and resolves it: promtool test rules', () => {
    const slo = (model: string, outcome: string) =>
      `${m}slo_requests_total{job="llm",model="${model}",endpoint="chat_completions",slo="all",outcome="${outcome}"}`;
    const requests = (model: string, status: string) =>
      `${m}requests_total{job="llm",model="${model}",endpoint="chat_completions",status="${status}"}`;
    const sloLabels = (model: string) => ({ job: 'llm', model, endpoint: 'chat_completions', slo: 'all' });
    const tests = [
      {
        name: 'fast burn: 20 % missed pages within minutes (above 14.4 × 1 %), and resolves once the short window recovers',
        interval: '1m',
        input_series: [
          { series: slo('burning', 'met'), values: growing(80, 90, 100, 60) },
          { series: slo('burning', 'missed'), values: growing(20, 90, 0, 60) },
        ],
        alert_rule_test: [
          { eval_time: '30m', alertname: 'LlmSloBudgetBurnFast', exp_alerts: [firing('LlmSloBudgetBurnFast', sloLabels('burning'))] },
          { eval_time: '110m', alertname: 'LlmSloBudgetBurnFast', exp_alerts: [] },
        ],
      },
      {
        name: 'medium burn: 10 % missed does not page fast (below 14.4 %) but pages medium (above 6 %), until the 30 m window recovers',
        interval: '1m',
        input_series: [
          { series: slo('steady', 'met'), values: growing(90, 120, 100, 60) },
          { series: slo('steady', 'missed'), values: growing(10, 120, 0, 60) },
        ],
        alert_rule_test: [
          { eval_time: '60m', alertname: 'LlmSloBudgetBurnFast', exp_alerts: [] },
          { eval_time: '60m', alertname: 'LlmSloBudgetBurnMedium', exp_alerts: [firing('LlmSloBudgetBurnMedium', sloLabels('steady'))] },
          { eval_time: '160m', alertname: 'LlmSloBudgetBurnMedium', exp_alerts: [] },
        ],
      },
      {
        name: 'slow burn: 2 % missed opens a ticket (above 1 %), pages neither, and resolves after the 6 h window',
        interval: '5m',
        input_series: [
          { series: slo('leaking', 'met'), values: `0+490x36 ${490 * 36}+500x60` },
          { series: slo('leaking', 'missed'), values: `0+10x36 ${10 * 36}+0x60` },
        ],
        alert_rule_test: [
          { eval_time: '150m', alertname: 'LlmSloBudgetBurnSlow', exp_alerts: [firing('LlmSloBudgetBurnSlow', sloLabels('leaking'))] },
          { eval_time: '150m', alertname: 'LlmSloBudgetBurnMedium', exp_alerts: [] },
          { eval_time: '150m', alertname: 'LlmSloBudgetBurnFast', exp_alerts: [] },
          { eval_time: '8h', alertname: 'LlmSloBudgetBurnSlow', exp_alerts: [] },
        ],
      },
      {
        name: 'error ratio: 10 % errors page after 5 minutes, 4 % do not; it resolves once the errors stop',
        interval: '1m',
        input_series: [
          { series: requests('failing', 'success'), values: growing(90, 40, 100, 20) },
          { series: requests('failing', 'error'), values: growing(10, 40, 0, 20) },
          { series: requests('fine', 'success'), values: growing(96, 40) },
          { series: requests('fine', 'error'), values: growing(4, 40) },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'LlmHighErrorRatio', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'LlmHighErrorRatio',
            exp_alerts: [firing('LlmHighErrorRatio', { job: 'llm', model: 'failing', endpoint: 'chat_completions' })],
          },
          { eval_time: '55m', alertname: 'LlmHighErrorRatio', exp_alerts: [] },
        ],
      },
      {
        name: 'no traffic: a job whose requests stop growing for 30 minutes, and not before; it resolves with the next request',
        interval: '1m',
        input_series: [{ series: requests('quiet', 'success'), values: `${growing(10, 10)} 100x39 110+10x20` }],
        alert_rule_test: [
          { eval_time: '30m', alertname: 'LlmNoTraffic', exp_alerts: [] },
          { eval_time: '45m', alertname: 'LlmNoTraffic', exp_alerts: [firing('LlmNoTraffic', { job: 'llm' })] },
          { eval_time: '53m', alertname: 'LlmNoTraffic', exp_alerts: [] },
        ],
      },
      {
        name: 'stuck in flight: requests in flight and none finished for 30 minutes, until one finishes; a model that finishes some is fine',
        interval: '1m',
        input_series: [
          { series: `${m}inflight_requests{job="llm",model="hung"}`, values: '3x60' },
          { series: requests('hung', 'success'), values: `${growing(5, 10)} 50x39 55+5x20` },
          { series: `${m}inflight_requests{job="llm",model="busy"}`, values: '3x60' },
          { series: requests('busy', 'success'), values: growing(5, 60) },
        ],
        alert_rule_test: [
          { eval_time: '20m', alertname: 'LlmRequestsStuckInFlight', exp_alerts: [] },
          {
            eval_time: '40m',
            alertname: 'LlmRequestsStuckInFlight',
            exp_alerts: [firing('LlmRequestsStuckInFlight', { job: 'llm', model: 'hung' })],
          },
          { eval_time: '53m', alertname: 'LlmRequestsStuckInFlight', exp_alerts: [] },
        ],
      },
    ];
    writeFileSync(
      join(dir, 'alerts.test.yml'),
      stringify({ rule_files: ['llm-metrics.rules.yml', 'llm-metrics.alerts.yml'], evaluation_interval: '1m', tests }, { lineWidth: 0 }),
    );
    cli(['rules', '--schema', schema, '--out', dir]);
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yml'], dir);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('is a test that can fail: promtool refuses an alert that did not fire', () => {
    const wrong = {
      rule_files: ['llm-metrics.alerts.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [],
          alert_rule_test: [{ eval_time: '5m', alertname: 'LlmNoTraffic', exp_alerts: [{ exp_labels: { job: 'llm' } }] }],
        },
      ],
    };
    writeFileSync(join(dir, 'wrong.test.yml'), stringify(wrong));
    expect(promtool(['test', 'rules', 'wrong.test.yml'], dir).status).not.toBe(0);
  });
});

it('ships the CLI as the package bin, importing the rules without the library entry point loading yaml', () => {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { bin: Record<string, string> };
  expect(pkg.bin).toEqual({ 'nestjs-llm-metrics': 'bin/nestjs-llm-metrics.mjs' });
  const index = readFileSync(resolve(import.meta.dirname, '../src/index.ts'), 'utf8');
  expect(index).not.toContain('rules-cli');
});
