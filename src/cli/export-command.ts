import { displayed } from '../io/display-name.js';
import { type Command, Option } from 'commander';
import type { ExportWhat } from '../export/csv.js';
// The exporters (and DuckDB behind parquet and query) load when these commands run, not at every start.
import { OutputClosed, sinkFor } from '../export/sink.js';
import { UsageError } from './errors.js';
import { table } from './format.js';

export const EXPORT_FORMATS = ['perfetto', 'csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOpts {
  format: ExportFormat;
  out: string;
  what?: ExportWhat;
  from?: string;
  to?: string;
  index?: string;
  findings?: boolean;
  quiet?: boolean;
}

/** What one export wrote, for the closing line. */
export interface ExportDone {
  readonly events?: number;
  readonly rows?: number;
  readonly traceEvents?: number;
  readonly findings?: number | undefined;
  readonly clock?: string;
}

/** Runs one export as the CLI does (checks the arguments first: UsageError, exit 2). */
export async function runExport(log: string, o: ExportOpts): Promise<ExportDone> {
  if (o.format === 'perfetto' && o.what !== undefined) throw new UsageError('--what is for csv and parquet; a perfetto trace holds events, commands and counters together');
  if (o.format === 'parquet' && o.out === '-') throw new UsageError('--out -: Parquet cannot be streamed to standard output (its footer is written last); give a file');
  if (o.format !== 'perfetto' && o.findings === false) throw new UsageError('--no-findings is for --format perfetto');
  const window = { from: o.from, to: o.to, index: o.index, quiet: o.quiet };
  const what = o.what ?? 'events';
  if (o.format === 'perfetto') {
    const { exportPerfetto } = await import('../export/perfetto.js');
    const s = await exportPerfetto(log, sinkFor(o.out, 'trace'), { ...window, findings: o.findings !== false });
    return { events: s.events, traceEvents: s.traceEvents, findings: s.findings, clock: s.clock };
  }
  if (o.format === 'csv') {
    const { exportCsv } = await import('../export/csv.js');
    return { rows: (await exportCsv(log, what, sinkFor(o.out, 'CSV export'), window)).rows };
  }
  const { exportParquet } = await import('../export/parquet.js');
  return { rows: (await exportParquet(log, { [what]: o.out }, window))[what] };
}

export function addExportCommands(program: Command): void {
  program
    .command('export')
    .description('export a log for other tools: a Perfetto / chrome://tracing trace, or CSV / Parquet tables (README, "Exports")')
    .argument('<log>', 'event log, or - for standard input')
    .addOption(new Option('--format <f>', 'perfetto, csv or parquet').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('--out <file>', 'where to write it (- for standard output: csv and perfetto)')
    .addOption(new Option('--what <table>', 'csv/parquet: one row per event, or per command (the headline numbers after it); default events').choices(['events', 'summary']))
    .option('--from <P>', 'only events after position P (e<N>, c<K>, t<S>, start, end)')
    .option('--to <P>', 'only events up to position P')
    .option('--index <path>', 'where the index lives (default: beside the log, or in $PAGETRACK_INDEX_DIR)')
    .option('--no-findings', 'perfetto: no audit findings (with --from, lets an index start the export there instead of reading from the start)')
    .option('--quiet', 'no progress bar')
    .action(async (log: string, o: ExportOpts) => {
      const started = performance.now();
      let d: ExportDone;
      try {
        d = await runExport(log, o);
      } catch (err) {
        if (err instanceof OutputClosed) return; // `| head` has what it wanted
        throw err;
      }
      const s = ((performance.now() - started) / 1000).toFixed(2);
      const what = d.traceEvents !== undefined ? `${d.events} events as ${d.traceEvents} trace events (clock: ${d.clock === 'trace' ? 'trace timestamps' : '1 event = 1 us'}; findings: ${d.findings ?? 'not audited'})` : `${d.rows} rows of ${o.what ?? "events"}`;
      const line = `exported ${what} to ${o.out === '-' ? 'standard output' : o.out} in ${s} s`;
      if (o.out === '-') console.error(line);
      else console.log(line);
    });

  program
    .command('query')
    .description('SQL over a log with DuckDB: views `events` and `summary` (README, "Exports")')
    .argument('<log>', 'event log, or - for standard input')
    .argument('<sql>', 'the SQL, e.g. "SELECT type, count(*) FROM events GROUP BY type"')
    .option('--json', 'print {columns, rows}: the column names, and each row as an object')
    .option('--index <path>', 'the cache goes beside the index (default: beside the log, or in $PAGETRACK_INDEX_DIR)')
    .option('--quiet', 'no progress bar')
    .action(async (log: string, sql: string, o: { json?: boolean; index?: string; quiet?: boolean }) => {
      if (sql.trim() === '') throw new UsageError('the SQL is empty');
      const { cellText, parquetOf, runQuery } = await import('../export/query.js');
      const files = await parquetOf(log, { index: o.index, quiet: o.quiet, onNote: (n) => console.error(displayed(`pagetrack: ${n}`)) });
      const r = await runQuery(files, sql);
      if (o.json) {
        // An object, as every command's answer (README, "JSON output"; schemas/query.schema.json).
        console.log(JSON.stringify({ columns: r.columns, rows: r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))) }));
        return;
      }
      const LIMIT = 1000;
      console.log(table([...r.columns], r.rows.slice(0, LIMIT).map((row) => row.map(cellText))));
      console.log(`${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.rows.length > LIMIT ? ` (the first ${LIMIT} shown; add LIMIT, or --json for all)` : ''}`);
    });
}
