import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CountTable, FoldedHistogram } from '../../src/ops/folded-metrics';

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const OBSERVATIONS: [string, string, number][] = [
  ['POST', '2xx', 0.003],
  ['POST', '2xx', 0.01],
  ['POST', '4xx', 0.2],
  ['GET', '2xx', 31],
  ['POST', '2xx', 2.5],
  ['GET', '5xx', 0],
];

describe('metrics counted in plain maps and folded in at scrape', () => {
  it('scrape exactly as prom-client counters and histograms fed the same values', async () => {
    const direct = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['m', 's'], registers: [direct] });
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['m', 's'],
      buckets: BUCKETS,
      registers: [direct],
    });
    const folded = new Registry();
    const table = new CountTable<'m' | 's'>();
    new Counter({
      name: 'c_total',
      help: 'c',
      labelNames: ['m', 's'],
      registers: [folded],
      collect() {
        table.foldInto(this);
      },
    });
    const foldedHistogram = new FoldedHistogram<'m' | 's'>('h_seconds', 'h', BUCKETS, folded);

    for (const round of [1, 2]) {
      for (const [m, s, v] of OBSERVATIONS) {
        counter.inc({ m, s });
        histogram.observe({ m, s }, v);
        table.add(`${m}\n${s}`, () => ({ m, s }));
        foldedHistogram.observe(`${m}\n${s}`, () => ({ m, s }), v);
      }
      // Scraping twice must not count twice.
      expect(await folded.metrics(), `scrape ${round}`).toBe(await direct.metrics());
    }
  });
});
