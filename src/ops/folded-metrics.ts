import type { Counter, Histogram, Registry } from 'prom-client';

// prom-client hashes the label object on every inc/observe: count in plain maps instead and hand
// prom-client the totals only on scrape.

interface CountRow<L extends string> {
  readonly labels: Record<L, string>;
  n: number;
}

/** Counts per label set; `foldInto` from the prom-client Counter's `collect()`. */
export class CountTable<L extends string> {
  private readonly rows = new Map<string, CountRow<L>>();

  /** `key` must be unique per label set (the label values joined); `labels` runs once per new set. */
  add(key: string, labels: () => Record<L, string>, by = 1): void {
    const row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, { labels: labels(), n: by });
    else row.n += by;
  }

  foldInto(counter: Counter<L>): void {
    counter.reset();
    for (const row of this.rows.values()) counter.inc(row.labels, row.n);
  }

  reset(): void {
    this.rows.clear();
  }
}

interface HistogramRow<L extends string> {
  readonly labels: Record<L, string>;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

interface SampleValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/** A histogram with prom-client's exact output, observed in plain arrays. */
export class FoldedHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly rows = new Map<string, HistogramRow<L>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // Structurally what the registry reads of a metric (name, help, type, aggregator, get, reset).
    registry.registerMetric(this as unknown as Histogram<L>);
  }

  observe(key: string, labels: () => Record<L, string>, value: number): void {
    let row = this.rows.get(key);
    if (row === undefined) {
      row = {
        labels: labels(),
        buckets: new Array<number>(this.bounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.rows.set(key, row);
    }
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] ?? Infinity)) i++;
    row.buckets[i] = (row.buckets[i] ?? 0) + 1;
    row.sum += value;
    row.count += 1;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: SampleValue[];
  }> {
    const values: SampleValue[] = [];
    for (const row of this.rows.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += row.buckets[i] ?? 0;
        values.push({ labels: { le, ...row.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf', ...row.labels }, value: row.count, metricName: `${this.name}_bucket` },
        { labels: row.labels, value: row.sum, metricName: `${this.name}_sum` },
        { labels: row.labels, value: row.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    this.rows.clear();
  }
}
