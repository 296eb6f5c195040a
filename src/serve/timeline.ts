/**
 * The timeline the page draws: every series' min and max per pixel column over any span of the
 * log, answered from data computed once and cached.
 *
 * - Per index window (checkpoint to checkpoint), min/max per bucket of BUCKET events, kept for the
 *   whole log (a 10 M-event log: 200 windows). A background pass reads the log once from the start
 *   and fills every window; a view that needs a window not filled yet computes it on demand
 *   (restore its checkpoint, read and replay its events: 0.1-1 s each on a busy 2-core machine) when there are at most
 *   ON_DEMAND_WINDOWS of them, else it is answered at once from the numbers at each checkpoint
 *   (read from the checkpoint's small state, checkpoint-summary.ts), and marked `exact: false`; the page asks again until it is exact.
 * - With the buckets, every change of every series (ChangeLog): a view finer than a bucket (fewer
 *   than BUCKET events per column) replays those, not the log.
 * A column of a coarse view is the envelope of the buckets it overlaps, so a spike is never lost.
 */
import type { PageTrackEvent } from '../events/types.js';
import { SummaryTracker } from '../series/summary-tracker.js';
import { Cells, ChangeLog } from './cells.js';

/** Events per bucket of the cached per-window reduction. */
export const BUCKET = 64;
/** Windows a coarse view may compute before answering (more: answered from checkpoints, then refined). */
export const ON_DEMAND_WINDOWS = 2;
/** Answers kept for repeated views. */
const ANSWERS_KEPT = 64;

/** What the timeline reads: the index's checkpoints and the log's events (log-view.ts). */
export interface TimelineSource {
  readonly total: number;
  /** Checkpoint event numbers, ascending, the first 0. */
  readonly checkpoints: readonly number[];
  /** A tracker standing at checkpoint w. */
  trackerAt(w: number): Promise<SummaryTracker>;
  /** The numbers at checkpoint w, without a restore (checkpoint-summary.ts). */
  checkpointValues(w: number): Map<string, number>;
  /** The events of window w: (checkpoints[w], checkpoints[w + 1] or the end]. */
  windowEvents(w: number): Promise<readonly PageTrackEvent[]>;
  /** Every event from the first, in order (the background pass). */
  allBatches(): AsyncIterable<readonly PageTrackEvent[]>;
}

export interface TimelineAnswer {
  readonly from: number;
  readonly to: number;
  readonly width: number;
  /** Columns (at most width; one per position when the span is narrower). */
  readonly columns: number;
  /** The first position of each column. */
  readonly x: number[];
  /** Per series: min and max per column (null: the series does not exist there). */
  readonly series: Record<string, { min: Array<number | null>; max: Array<number | null> }>;
  /** False when some columns come from checkpoint values only (the background pass has not reached them yet). */
  readonly exact: boolean;
  /** Share of the log's windows reduced so far. */
  readonly reduced: number;
}

interface WindowCells {
  readonly start: number;
  /** Exclusive: the next checkpoint, or total + 1. */
  readonly end: number;
  readonly cells: Cells;
  readonly changes: ChangeLog;
}

export class Timeline {
  private readonly windows: Array<WindowCells | undefined>;
  private filled = 0;
  private readonly answers = new Map<string, TimelineAnswer>();
  private cpValues: Promise<Array<Map<string, number>>> | undefined;
  private background: Promise<void> | undefined;
  /** Why the background pass stopped, if it failed. */
  failed: string | undefined;
  private stopped = false;

  constructor(private readonly src: TimelineSource) {
    this.windows = new Array<WindowCells | undefined>(src.checkpoints.length).fill(undefined);
  }

  get reduced(): number {
    return this.windows.length === 0 ? 1 : this.filled / this.windows.length;
  }

  /** Starts the background pass (once); resolves when every window is reduced. */
  start(): Promise<void> {
    this.background ??= this.fillAll().catch((err: unknown) => {
      this.failed = (err as Error).message;
    });
    return this.background;
  }

  /** Ends the background pass at its next batch. */
  stop(): void {
    this.stopped = true;
  }

  private range(w: number): { start: number; end: number } {
    const cps = this.src.checkpoints;
    return { start: cps[w]!, end: w + 1 < cps.length ? cps[w + 1]! : this.src.total + 1 };
  }

  private store(w: number, cells: Cells, changes: ChangeLog): void {
    if (this.windows[w]) return;
    const { start, end } = this.range(w);
    changes.freeze();
    this.windows[w] = { start, end, cells, changes };
    this.filled++;
  }

  /** One pass over the whole log, bucket by bucket; a bucket's first position and every change are recorded. */
  private async fillAll(): Promise<void> {
    const t = new SummaryTracker();
    let w = 0;
    let { start, end } = this.range(0);
    let cells = new Cells(Math.ceil((end - start) / BUCKET));
    let changes = new ChangeLog();
    let bucket = 0;
    cells.record(0, t);
    changes.record(0, t);
    const next = () => {
      this.store(w, cells, changes);
      w++;
      ({ start, end } = this.range(w));
      cells = new Cells(Math.ceil((end - start) / BUCKET));
      changes = new ChangeLog();
      changes.record(start, t);
      bucket = -1;
    };
    for await (const batch of this.src.allBatches()) {
      for (const e of batch) {
        if (e.seq > this.src.total) break;
        const changed = t.see(e);
        if (e.seq >= end) next();
        const b = ((e.seq - start) / BUCKET) | 0;
        if (b !== bucket || changed) cells.record(b, t);
        if (changed) changes.record(e.seq, t);
        bucket = b;
      }
      // Let requests in between batches.
      await new Promise<void>((r) => setImmediate(r));
      if (this.stopped) return;
    }
    this.store(w, cells, changes);
  }

  /** Window w reduced now (restore its checkpoint, replay its events). */
  private async computeWindow(w: number): Promise<void> {
    const { start, end } = this.range(w);
    const t = await this.src.trackerAt(w);
    const events = await this.src.windowEvents(w);
    const cells = new Cells(Math.ceil((end - start) / BUCKET));
    const changes = new ChangeLog();
    cells.record(0, t);
    changes.record(start, t);
    let bucket = 0;
    for (const e of events) {
      if (e.seq >= end) break;
      const changed = t.see(e);
      const b = ((e.seq - start) / BUCKET) | 0;
      // A bucket's first position and every change (as the background pass records them).
      if (b !== bucket || changed) cells.record(b, t);
      if (changed) changes.record(e.seq, t);
      bucket = b;
    }
    this.store(w, cells, changes);
  }

  /**
   * The numbers at every checkpoint, from the index alone (no restore; a loop over each
   * checkpoint's SPTEs is most of it), computed once, yielding to requests between checkpoints.
   */
  warm(): Promise<Array<Map<string, number>>> {
    this.cpValues ??= (async () => {
      const out: Array<Map<string, number>> = [];
      for (let w = 0; w < this.src.checkpoints.length; w++) {
        out.push(this.src.checkpointValues(w));
        await new Promise<void>((r) => setImmediate(r));
      }
      return out;
    })();
    return this.cpValues;
  }

  private windowOf(p: number): number {
    const cps = this.src.checkpoints;
    let lo = 0;
    let hi = cps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cps[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Min/max per column of positions from..to (inclusive) in `width` columns. */
  async columns(from: number, to: number, width: number): Promise<TimelineAnswer> {
    const key = `${from}:${to}:${width}`;
    const hit = this.answers.get(key);
    if (hit) return hit;
    const n = to - from + 1;
    const cols = Math.min(width, n);
    const x = Array.from({ length: cols }, (_, c) => from + Math.ceil((c * n) / cols));
    const colOf = (p: number) => Math.floor(((p - from) * cols) / n);
    const acc = new Map<string, { min: Float64Array; max: Float64Array }>();
    const arrays = (name: string) => {
      let s = acc.get(name);
      if (!s) acc.set(name, (s = { min: new Float64Array(cols).fill(Number.NaN), max: new Float64Array(cols).fill(Number.NaN) }));
      return s;
    };
    const fold = (s: { min: Float64Array; max: Float64Array }, c: number, lo: number, hi: number) => {
      // NaN (nothing yet) compares false: the first value sets both.
      if (!(s.min[c]! <= lo)) s.min[c] = lo;
      if (!(s.max[c]! >= hi)) s.max[c] = hi;
    };
    const put = (name: string, c: number, lo: number, hi: number) => fold(arrays(name), c, lo, hi);
    const first = this.windowOf(from);
    const last = this.windowOf(to);
    let exact = true;
    const missing: number[] = [];
    for (let w = first; w <= last; w++) if (!this.windows[w]) missing.push(w);
    if (missing.length <= ON_DEMAND_WINDOWS) for (const w of missing) await this.computeWindow(w);
    // Finer than a bucket, exact from the change logs; else (or while too many windows wait for the background pass) from buckets and checkpoints.
    if (n / cols < BUCKET && missing.length <= ON_DEMAND_WINDOWS) {
      const names = ChangeLog.names;
      for (let w = first; w <= last; w++) {
        const win = this.windows[w]!;
        const { pos, sid, val } = win.changes.frozen!;
        const lo = Math.max(from, win.start);
        const hi = Math.min(to, win.end - 1);
        // The values at `lo`, then column by column: each column takes the values at its start and every change inside it.
        const now = new Map<number, { v: number; acc: { min: Float64Array; max: Float64Array } }>();
        const apply = (i: number) => {
          const v = val[i]!;
          if (Number.isNaN(v)) now.delete(sid[i]!);
          else {
            const cur = now.get(sid[i]!);
            if (cur) cur.v = v;
            else now.set(sid[i]!, { v, acc: arrays(names[sid[i]!]!) });
          }
        };
        let i = 0;
        for (; i < pos.length && pos[i]! <= lo; i++) apply(i);
        const foldAll = (k: number) => {
          for (const { v, acc: a } of now.values()) fold(a, k, v, v);
        };
        let c = colOf(lo);
        foldAll(c);
        while (i < pos.length && pos[i]! <= hi) {
          const p = pos[i]!;
          const cc = colOf(p);
          // Columns begun before p hold the values before it.
          for (let k = c + 1; k <= cc; k++) if (k < cc || x[k]! < p) foldAll(k);
          const j0 = i;
          for (; i < pos.length && pos[i] === p; i++) apply(i);
          if (cc !== c && x[cc] === p) foldAll(cc);
          else {
            for (let j = j0; j < i; j++) {
              const cur = now.get(sid[j]!);
              if (cur) fold(cur.acc, cc, cur.v, cur.v);
            }
          }
          c = cc;
        }
        const end = colOf(hi);
        for (let k = c + 1; k <= end; k++) foldAll(k);
      }
    } else {
      const cpv = missing.length > ON_DEMAND_WINDOWS ? await this.warm() : undefined;
      for (let w = first; w <= last; w++) {
        const win = this.windows[w];
        if (!win) {
          // Ahead of the background pass: the values at this checkpoint and the next, for the whole window.
          exact = false;
          const { start, end } = this.range(w);
          const c0 = colOf(Math.max(from, start));
          const c1 = colOf(Math.min(to, end - 1));
          const a = cpv![w]!;
          const b = cpv![w + 1];
          for (const [name, v] of a) {
            const u = b?.get(name) ?? v;
            for (let c = c0; c <= c1; c++) put(name, c, Math.min(v, u), Math.max(v, u));
          }
          continue;
        }
        const nb = win.cells.n;
        const b0 = Math.max(0, Math.floor((from - win.start) / BUCKET));
        const b1 = Math.min(nb - 1, Math.floor((Math.min(to, win.end - 1) - win.start) / BUCKET));
        for (const [name, s] of win.cells.series) {
          const a = arrays(name);
          for (let b = b0; b <= b1; b++) {
            const lo = s.min[b]!;
            if (Number.isNaN(lo)) continue;
            const hi = s.max[b]!;
            const bs = win.start + b * BUCKET;
            const c0 = colOf(Math.max(from, bs));
            const c1 = colOf(Math.min(to, bs + BUCKET - 1, win.end - 1));
            for (let c = c0; c <= c1; c++) fold(a, c, lo, hi);
          }
        }
      }
    }
    const series: TimelineAnswer['series'] = {};
    for (const [name, s] of [...acc].sort(([a], [b]) => seriesOrder(a) - seriesOrder(b) || (a < b ? -1 : 1))) {
      const nul = (v: number) => (Number.isNaN(v) ? null : v);
      series[name] = { min: Array.from(s.min, nul), max: Array.from(s.max, nul) };
    }
    const answer: TimelineAnswer = { from, to, width, columns: cols, x, series, exact, reduced: this.reduced };
    if (exact) {
      this.answers.set(key, answer);
      if (this.answers.size > ANSWERS_KEPT) this.answers.delete(this.answers.keys().next().value!);
    }
    return answer;
  }
}

const ORDER = ['tracked', 'writeProtected', 'shadowPages', 'tlbFlushes', 'warns', 'zaps'];
function seriesOrder(name: string): number {
  const i = ORDER.indexOf(name);
  return i >= 0 ? i : name.startsWith('slot ') ? 10 : 20;
}
