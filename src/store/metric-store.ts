import type { MetricFamily } from './metric-family.js';

/**
 * The library's series: each measurement recorded once, here, and read by
 * every view (the route's text, OpenMetrics and protobuf renderers,
 * prom-client's registry), so that they can never disagree.
 */
export class MetricStore {
  private readonly byName: ReadonlyMap<string, MetricFamily>;

  constructor(
    /** The families, in the order every view lists them. */
    readonly families: readonly MetricFamily[],
    /** Run before each read: forgets what expired, so that no view shows it. */
    private readonly beforeRead: () => void = () => {},
  ) {
    this.byName = new Map(families.map((family) => [family.name, family]));
  }

  /** The families, brought up to date for a read. */
  read(): readonly MetricFamily[] {
    this.beforeRead();
    return this.families;
  }

  /** The family named `name`, brought up to date for a read. */
  readFamily(name: string): MetricFamily | undefined {
    this.beforeRead();
    return this.byName.get(name);
  }
}
