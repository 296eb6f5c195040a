/**
 * The events an export writes: the part (from, to] of a log, read by the validating reader, with
 * the headline numbers (SummaryTracker) standing at `from`. With `--from` and an index beside
 * the log, the state at `from` comes from the index (a checkpoint and a short replay, as
 * `state --at` does) and the reader starts at that checkpoint's line; otherwise the log is read
 * from its start and the events before `from` only move the tracker (and the audit, when one
 * runs). Positions are the time-travel ones (src/timetravel/position.ts).
 */
import { existsSync } from 'node:fs';
import type { PageTrackEvent } from '../events/types.js';
import { LOG_FORMAT, LOG_VERSION, type LogHeader } from '../log/format.js';
import { LogReader, type ReadSummary } from '../log/reader.js';
import { SummaryTracker } from '../series/summary-tracker.js';
import { fallbackIndexPath, indexPathOf } from '../timetravel/log-index.js';
import { type Position, PositionError, formatPosition, parsePosition } from '../timetravel/position.js';
import type { TimeMachine } from '../timetravel/time-machine.js';
import { openMachine } from '../cli/timetravel-commands.js';
import { progressBar } from '../cli/progress.js';
import { truncationNote } from '../cli/load.js';

export interface WindowOptions {
  /** Export events after this position (default: the start). */
  readonly from?: string | undefined;
  /** ... up to and including this one (default: the end). */
  readonly to?: string | undefined;
  /** Where the index lives (`--index`), as for the time-travel commands. */
  readonly index?: string | undefined;
  readonly quiet?: boolean | undefined;
  /**
   * Every event from the log's start must be seen (an audit needs the whole history): the
   * index is not used to skip the part before `from`; those events go to `prefix` instead.
   */
  readonly fromStart?: boolean | undefined;
  /** A label for the progress bar. */
  readonly label?: string;
}

/** What a pass over the window sees. */
export interface WindowVisitor {
  /** The log's header and the tracker at `from`, before any event. */
  begin(header: LogHeader, tracker: SummaryTracker, startSeq: number): void;
  /** Events at or before `from` read from the start (the tracker has already seen each). */
  prefix?(e: PageTrackEvent): void;
  /** One batch of events of the window, in order (the tracker has NOT seen them: the visitor feeds it). */
  batch(events: readonly PageTrackEvent[], from: number, to: number): Promise<void> | void;
}

/** A resolved bound: after event n, after command n, or the end. */
type Bound = { readonly kind: 'event' | 'command'; readonly n: number } | { readonly kind: 'end' };

const past = (e: PageTrackEvent, b: Bound): boolean => (b.kind === 'event' ? e.seq > b.n : b.kind === 'command' ? e.cmd > b.n : false);

/** Reads the window once, handing its events to `visitor`; returns what was read. */
export async function readWindow(log: string, o: WindowOptions, visitor: WindowVisitor): Promise<{ events: number; summary: ReadSummary | undefined }> {
  const fromP: Position = o.from !== undefined ? parsePosition(o.from) : { kind: 'event', n: 0 };
  const toP: Position = o.to !== undefined ? parsePosition(o.to) : { kind: 'end' };
  const needsMachine = fromP.kind === 'time' || toP.kind === 'time';
  const skipByIndex = !o.fromStart && !(fromP.kind === 'event' && fromP.n === 0) && (existsSync(indexPathOf(log, o.index)) || (o.index === undefined && existsSync(fallbackIndexPath(log))));
  let tm: TimeMachine | undefined;
  if (needsMachine || skipByIndex) tm = await openMachine(log, { ...(o.quiet ? { quiet: true } : {}), ...(o.index !== undefined ? { index: o.index } : {}) });
  try {
    let from: Bound = fromP.kind === 'end' ? { kind: 'end' } : fromP.kind === 'time' ? { kind: 'event', n: await tm!.resolve(fromP) } : fromP;
    let to: Bound = toP.kind === 'time' ? { kind: 'event', n: await tm!.resolve(toP) } : toP;
    if (tm) {
      // Everything resolves to event numbers through the index (it also says "beyond the end").
      from = { kind: 'event', n: await tm.resolve(fromP) };
      to = { kind: 'event', n: await tm.resolve(toP) };
    }
    const backwards = () => new PositionError(`--to ${formatPosition(toP)} is before --from ${formatPosition(fromP)}`);
    if (from.kind === to.kind && from.kind !== 'end' && (to as { n: number }).n < from.n) throw backwards();
    const bar = progressBar(o.label ?? 'export', { quiet: o.quiet });
    let reader: LogReader;
    let tracker: SummaryTracker;
    let startSeq = 0;
    if (tm && skipByIndex && from.kind === 'event' && from.n > 0) {
      // Start at the checkpoint at or before `from`: the index's state, then the log from that line on.
      await tm.seek(from.n);
      tracker = SummaryTracker.fromState(tm.state);
      const cps = tm.index.checkpoints;
      let cp = cps[0]!;
      for (const c of cps) if (c.seq <= from.n) cp = c;
      const { profile, created } = tm.index.log;
      reader = new LogReader(log, {
        start: { offset: cp.offset, line: cp.line, prevHash: cp.prevHash, seq: cp.seq, cmd: cp.cmd },
        header: { format: LOG_FORMAT, version: LOG_VERSION, profile, created },
        onProgress: (p) => bar.update(p),
      });
      startSeq = from.n;
    } else {
      reader = new LogReader(log, { onProgress: (p) => bar.update(p) });
      tracker = new SummaryTracker();
    }
    let begun = false;
    let events = 0;
    let last: PageTrackEvent | undefined;
    let stopped = false;
    try {
      outer: for await (const batch of reader.batches()) {
        if (!begun) {
          visitor.begin(reader.header!, tracker, startSeq);
          begun = true;
        }
        let lo = 0;
        // Events at or before `from`: skipped (a mid-log start), or followed (a read from the start).
        while (lo < batch.length && !past(batch[lo]!, from)) {
          const e = batch[lo++]!;
          if (past(e, to)) throw backwards(); // e.g. --from c5 --to e3: `to` comes first
          if (e.seq > startSeq) {
            tracker.see(e);
            visitor.prefix?.(e);
          }
        }
        let hi = lo;
        while (hi < batch.length && !past(batch[hi]!, to)) hi++;
        if (hi > lo) {
          await visitor.batch(batch, lo, hi);
          events += hi - lo;
        }
        last = batch[batch.length - 1];
        if (hi < batch.length) {
          stopped = true;
          break outer;
        }
      }
    } finally {
      bar.stop();
    }
    if (!begun) visitor.begin(reader.header ?? reader.summary!.header, tracker, startSeq);
    if (!stopped) {
      const total = reader.summary?.events ?? last?.seq ?? 0;
      const lastCmd = last?.cmd ?? 0;
      for (const [p, b] of [[fromP, from], [toP, to]] as const) {
        if (b.kind === 'event' && b.n > total) throw new PositionError(`${formatPosition(p)} is beyond the end: ${log} has ${total} events`);
        if (b.kind === 'command' && b.n > lastCmd) throw new PositionError(`${formatPosition(p)} is beyond the end: the last command of ${log} is c${lastCmd}`);
      }
      const note = truncationNote(log, reader.summary);
      if (note) console.error(note);
    }
    return { events, summary: reader.summary };
  } finally {
    await tm?.close();
  }
}
