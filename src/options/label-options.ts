import { isAllowList, isUsableLabelValue } from '../labels/label-value.js';
import { MAX_LABEL_VALUE_LENGTH, type RequestLabelSpec } from '../labels/request-label.policy.js';
import { LABELLED_BY_DEFAULT, type Schema, isPerRequest } from '../schemas/schema.js';
import { assertKnownKeys, invalidOption, isObject } from './option-error.js';

/** The options of one request label. */
const LABEL_SPEC_OPTION_NAMES: readonly string[] = ['from', 'allow', 'max', 'missing', 'metrics'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Names a request label cannot take: the built-in labels, and those Prometheus gives a meaning. */
const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set([
  'model',
  'endpoint',
  'request_type',
  'status',
  'error_type',
  'finish_reason',
  'outcome',
  'slo',
  'provider',
  'limit',
  'currency',
  'token_type',
  'le',
  'quantile',
]);

/**
 * The `labels` option, checked against `schema`: for each of its metric
 * families by suffix, the names of the request labels it carries.
 */
export function checkLabels(labels: unknown, schema: Schema): Map<string, string[]> {
  const carried = new Map<string, string[]>();
  if (labels === undefined) {
    return carried;
  }
  if (!isObject(labels)) {
    throw invalidOption('labels', 'an object of label specs { from, allow?, max?, missing?, metrics? }', labels);
  }
  const families = new Map(schema.metrics.filter(({ rule }) => isPerRequest(rule)).map((spec) => [spec.suffix, spec.rule]));
  for (const [name, spec] of Object.entries(labels)) {
    const option = `labels.${name}`;
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw invalidOption('labels', `keyed by label names matching ${LABEL_NAME} (not starting with "__")`, name);
    }
    if (RESERVED_LABEL_NAMES.has(name)) {
      throw invalidOption('labels', `keyed by names other than ${[...RESERVED_LABEL_NAMES].join(', ')}`, name);
    }
    if (!isObject(spec)) {
      throw invalidOption(option, 'a label spec { from, allow?, max?, missing?, metrics? }', spec);
    }
    assertKnownKeys(option, spec, LABEL_SPEC_OPTION_NAMES);
    const { from, allow, max, missing, metrics } = spec as Partial<RequestLabelSpec>;
    if (typeof from !== 'function') {
      throw invalidOption(`${option}.from`, 'a function (request) => value', from);
    }
    if (allow !== undefined && !isAllowList(allow)) {
      throw invalidOption(`${option}.allow`, 'an array of values or a function (value) => boolean', allow);
    }
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1)) {
      throw invalidOption(`${option}.max`, 'a positive integer', max);
    }
    if (missing !== undefined && missing !== '' && !isUsableLabelValue(missing)) {
      throw invalidOption(
        `${option}.missing`,
        `a string of at most ${MAX_LABEL_VALUE_LENGTH} characters, without control characters`,
        missing,
      );
    }
    if (metrics !== undefined && !(Array.isArray(metrics) && metrics.every((family) => families.has(family)))) {
      throw invalidOption(
        `${option}.metrics`,
        `an array of metric names of the "${schema.name}" schema measured per request (${[...families.keys()].join(', ')})`,
        metrics,
      );
    }
    for (const [suffix, rule] of families) {
      if (metrics ? metrics.includes(suffix) : LABELLED_BY_DEFAULT.has(rule)) {
        carried.set(suffix, [...(carried.get(suffix) ?? []), name]);
      }
    }
  }
  return carried;
}
