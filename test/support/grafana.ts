/** Reading a Grafana dashboard's queries, as Grafana would send them to Prometheus. */
import { readFileSync } from 'node:fs';

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  panels?: Panel[];
  targets?: { refId?: string; expr?: string; datasource?: { type?: string; uid?: string } }[];
}

export interface Variable {
  name: string;
  type: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
}

export interface Dashboard {
  title?: string;
  uid?: string;
  schemaVersion?: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

export interface PanelQuery {
  panel: Panel;
  refId: string;
  expr: string;
}

/** The dashboard in `file`. */
export const loadDashboard = (file: string): Dashboard => JSON.parse(readFileSync(file, 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows included. */
export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** The panels of the row titled `title`: inside it when collapsed, else those after it up to the next row. */
export function panelsOfRow(dashboard: Dashboard, title: string): Panel[] {
  const start = dashboard.panels.findIndex((panel) => panel.type === 'row' && panel.title === title);
  if (start < 0) {
    throw new Error(`no row "${title}" in the dashboard`);
  }
  const row = dashboard.panels[start];
  if (row.panels?.length) {
    return row.panels;
  }
  const next = dashboard.panels.findIndex((panel, index) => index > start && panel.type === 'row');
  return dashboard.panels.slice(start + 1, next < 0 ? undefined : next);
}

export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  return allPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => target.expr !== undefined)
      .map((target) => ({ panel, refId: target.refId ?? '?', expr: target.expr! })),
  );
}

export function variableQuery(variable: Variable): string | undefined {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query;
}

/** Every string under an `expr` key, anywhere in the JSON. */
export function exprsAnywhere(node: unknown): string[] {
  if (Array.isArray(node)) {
    return node.flatMap(exprsAnywhere);
  }
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([key, value]) => (key === 'expr' && typeof value === 'string' ? [value] : exprsAnywhere(value)));
  }
  return [];
}

const BUILT_IN_INTERVALS = /\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g;
const VARIABLE_USE = /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g;

/**
 * `expr` as Grafana would send it with every variable at "All": the
 * dashboard's multi-value variables become `.*` (their `allValue`), the
 * interval variables `1m`. An unknown variable throws.
 */
export function substitute(expr: string, dashboard: Dashboard): string {
  const values = new Map(dashboard.templating.list.filter((v) => v.type === 'query').map((v) => [v.name, v.allValue ?? '.*']));
  return expr.replace(BUILT_IN_INTERVALS, '1m').replace(VARIABLE_USE, (use, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values.get(name);
    if (value === undefined) {
      throw new Error(`unknown variable ${use} in ${expr}`);
    }
    return value;
  });
}

/** Grafana's own pattern for `label_values([selector,] label)`. */
export const LABEL_VALUES = /^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$/;
