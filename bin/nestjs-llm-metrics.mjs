#!/usr/bin/env node
// `npx nestjs-llm-metrics rules …`: the Prometheus rules of the metrics (see docs/runbook.md).
// The CLI alone imports `yaml`: the library's entry point does not load it.
import { runCli } from '../dist/esm/mixin/rules-cli.js';

process.exitCode = runCli(
  process.argv.slice(2),
  (text) => process.stdout.write(text),
  (text) => process.stderr.write(text),
);
