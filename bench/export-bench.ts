/**
 * Exports timed on one log: each format (and the validated read alone, the floor every export
 * stands on), one run each, in this process, output into a temporary folder that is removed.
 *   node dist/bench/export-bench.js LOG      prints the result as JSON
 * `exportBench(LOG)` is what `npm run bench` calls.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportCsv } from '../src/export/csv.js';
import { exportParquet } from '../src/export/parquet.js';
import { exportPerfetto } from '../src/export/perfetto.js';
import { sinkFor } from '../src/export/sink.js';
import { LogReader } from '../src/log/reader.js';
import { collectGarbage, cpuSecondsSince } from './timing.js';

export interface ExportTiming {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** CPU seconds of every thread of the process (the reader's hash worker, DuckDB's threads). */
  readonly cpuSeconds: number;
  readonly outputBytes?: number;
}

async function timed(events: () => Promise<number>, out?: string): Promise<ExportTiming> {
  collectGarbage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await events();
  const seconds = (performance.now() - t0) / 1000;
  return { events: n, seconds, eventsPerSecond: n / seconds, cpuSeconds: cpuSecondsSince(cpu0), ...(out ? { outputBytes: statSync(out).size } : {}) };
}

/** Times every export of `log` (the whole log each time). */
export async function exportBench(log: string): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-export-bench-'));
  const q = { quiet: true };
  try {
    const results: Record<string, ExportTiming> = {};
    results.read = await timed(async () => {
      const r = new LogReader(log);
      let n = 0;
      for await (const b of r.batches()) n += b.length;
      return n;
    });
    const events = results.read.events;
    const csv = join(dir, 'events.csv');
    results.csvEvents = await timed(async () => (await exportCsv(log, 'events', sinkFor(csv, 'CSV'), q)).rows, csv);
    rmSync(csv);
    const sum = join(dir, 'summary.csv');
    results.csvSummary = await timed(async () => (await exportCsv(log, 'summary', sinkFor(sum, 'CSV'), q), events), sum);
    rmSync(sum);
    const pq = join(dir, 'events.parquet');
    results.parquetEvents = await timed(async () => (await exportParquet(log, { events: pq }, q)).events, pq);
    rmSync(pq);
    const pqs = join(dir, 'summary.parquet');
    results.parquetSummary = await timed(async () => (await exportParquet(log, { summary: pqs }, q), events), pqs);
    rmSync(pqs);
    const trace = join(dir, 'trace.json');
    results.perfetto = await timed(async () => (await exportPerfetto(log, sinkFor(trace, 'trace'), q)).events, trace);
    rmSync(trace);
    results.perfettoNoFindings = await timed(async () => (await exportPerfetto(log, sinkFor(trace, 'trace'), { ...q, findings: false })).events, trace);
    rmSync(trace);
    return { log, events, logBytes: statSync(log).size, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = process.argv[2];
  if (!log) {
    console.error('usage: node dist/bench/export-bench.js LOG');
    process.exit(2);
  }
  console.log(JSON.stringify(await exportBench(log), null, 2));
}
