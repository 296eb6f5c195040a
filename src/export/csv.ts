/**
 * CSV exports: `--what events` (one row per event, columns.ts EVENT_COLUMNS) and `--what
 * summary` (one row per command: the headline numbers after it, SUMMARY_COLUMNS), streamed from
 * the validating reader to the output.
 */
import type { PageTrackEvent } from '../events/types.js';
import type { LogHeader } from '../log/format.js';
import type { SummaryTracker } from '../series/summary-tracker.js';
import { CsvBytes } from './bytes.js';
import { type CommandInfo, EVENT_COLUMNS, SUMMARY_COLUMNS, csvHeader, perSlotJson, perUserJson, writeEventRow, writeSummaryRow } from './columns.js';
import type { Sink } from './sink.js';
import { type WindowOptions, type WindowVisitor, readWindow } from './window.js';

export type ExportWhat = 'events' | 'summary';

/**
 * Writes the window's tables as CSV: events to `events`, per-command summary rows to `summary`
 * (either may be absent). One pass serves both (`pagetrack query` exports them together).
 */
export class CsvTables implements WindowVisitor {
  private tracker!: SummaryTracker;
  private current: CommandInfo | undefined;
  private bySlot = '{}';
  private byUser = '{}';
  private dirty = true;
  private readonly ev = new CsvBytes();
  private readonly sum = new CsvBytes();
  rows = { events: 0, summary: 0 };

  constructor(
    private readonly out: { readonly events?: Sink | undefined; readonly summary?: Sink | undefined },
  ) {}

  begin(_header: LogHeader, tracker: SummaryTracker): void {
    this.tracker = tracker;
    this.out.events?.write(csvHeader(EVENT_COLUMNS));
    this.out.summary?.write(csvHeader(SUMMARY_COLUMNS));
  }

  async batch(events: readonly PageTrackEvent[], from: number, to: number): Promise<void> {
    const ev = this.out.events;
    if (ev) {
      const w = this.ev;
      for (let i = from; i < to; i++) writeEventRow(events[i]!, w);
      if (w.pos >= 1 << 20) ev.write(w.take());
      this.rows.events += to - from;
    }
    const sum = this.out.summary;
    if (sum) {
      const t = this.tracker;
      for (let i = from; i < to; i++) {
        const e = events[i]!;
        let c = this.current;
        if (c && e.cmd !== c.cmd) {
          this.row(c);
          c = undefined;
        }
        if (!c) c = this.current = { cmd: e.cmd, seq: e.seq, events: 0, op: undefined, accepted: true, ts: undefined };
        if (e.type === 'command') {
          c.op = e.command.op;
          c.ts = e.ts;
        } else if (e.type === 'command-rejected') {
          c.op = e.op;
          c.accepted = false;
          c.ts = e.ts;
        }
        c.seq = e.seq;
        c.events++;
        if (t.see(e)) this.dirty = true;
      }
      if (this.sum.pos >= 1 << 20) sum.write(this.sum.take());
    }
    await Promise.all([ev?.drain(), sum?.drain()]);
  }

  /** The last command's row and what is still gathered; call when the window ends. */
  end(): void {
    if (this.current && this.out.summary) this.row(this.current);
    this.current = undefined;
    if (this.out.events && this.ev.pos > 0) this.out.events.write(this.ev.take());
    if (this.out.summary && this.sum.pos > 0) this.out.summary.write(this.sum.take());
  }

  private row(c: CommandInfo): void {
    if (this.dirty) {
      this.bySlot = perSlotJson(this.tracker);
      this.byUser = perUserJson(this.tracker);
      this.dirty = false;
    }
    this.rows.summary++;
    writeSummaryRow(this.sum, c, this.tracker, this.bySlot, this.byUser);
  }
}

/** `pagetrack export LOG --format csv`: one table of the window to `sink`. */
export async function exportCsv(log: string, what: ExportWhat, sink: Sink, o: WindowOptions): Promise<{ rows: number }> {
  const tables = new CsvTables(what === 'events' ? { events: sink } : { summary: sink });
  try {
    await readWindow(log, { label: `csv ${what}`, ...o }, tables);
    tables.end();
    await sink.finish();
  } catch (err) {
    sink.abort();
    throw err;
  }
  return { rows: tables.rows[what] };
}
