/** A series' label values, by name. */
export type LabelValues = Readonly<Record<string, string>>;

/**
 * A series' label set as a text renderer writes it (its `name="value"`
 * pairs, comma-separated, the default labels it lacks after its own),
 * rendered once for the default labels it was rendered with and kept on the
 * series, so that a scrape only copies it.
 */
export interface RenderedLabels {
  readonly defaults: object | undefined;
  readonly bytes: Uint8Array;
}

/** Where a series is listed once it holds something (a count, an observation): its family. */
export interface SeriesListing<S> {
  list(series: S): void;
}

/** What every series of a family has: its labels, its key among the family's series, and its rendered labels once rendered. */
export abstract class Series {
  /** Whether the family lists it (renders it, gives it to prom-client). */
  listed = false;
  /** Set by the text renderer, the first time it writes the series. */
  rendered: RenderedLabels | undefined = undefined;

  constructor(
    readonly labels: LabelValues,
    readonly key: string,
  ) {}

  /** Back to nothing recorded. */
  abstract zero(): void;
}

/** One series of a gauge: a value measured when it is read. */
export class GaugeSeries extends Series {
  value = 0;

  zero(): void {
    this.value = 0;
  }
}

/** One series of a counter: listed from its first count on. */
export class CounterSeries extends Series {
  value = 0;

  constructor(
    labels: LabelValues,
    key: string,
    private readonly listing: SeriesListing<CounterSeries>,
  ) {
    super(labels, key);
  }

  /** Adds `count` (≥ 0). */
  add(count = 1): void {
    if (!this.listed) {
      this.listing.list(this);
    }
    this.value += count;
  }

  /** Sets the count to `total`, for a counter whose exact total is kept elsewhere (in integer units): it never goes down but by a reset. */
  setTotal(total: number): void {
    if (!this.listed) {
      this.listing.list(this);
    }
    this.value = total;
  }

  zero(): void {
    this.value = 0;
  }
}
