/**
 * Moves one live state through a log's history: seek to any point, step by events or commands,
 * find the next or previous matching event. A seek restores the nearest checkpoint at or before
 * the target and replays the gap; the events of recently used windows (checkpoint to checkpoint)
 * stay in memory, so stepping back is a restore plus a replay from memory.
 */
import { getProfile } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { PageTrackState } from '../projections/state.js';
import { CheckpointRestorer } from './checkpoint.js';
import { type EventFilter, matches } from './filter.js';
import { mayTouch, postingKeys } from './touch-filter.js';
import { postedOffsets } from './gfn-postings.js';
import { PostedLines } from './posted-lines.js';
import { type IndexOptions, type LogIndex, closeIndex, openIndex } from './log-index.js';
import { type LogPoint, type Position, PositionError, formatPosition } from './position.js';
import { LogReader } from '../log/reader.js';
import { LOG_FORMAT, LOG_VERSION, LogError } from '../log/format.js';

const WINDOWS_KEPT = 4;
/** Windows are read lazily in pieces of this size, so a seek parses only up to its target. */
const WINDOW_READ_BYTES = 256 << 10;

interface Window {
  readonly events: PageTrackEvent[];
  /** The last event of the window (the next checkpoint's seq, or the log's end). */
  readonly end: number;
  /** Where the rest comes from, until it has been read. */
  source: AsyncGenerator<PageTrackEvent[]> | undefined;
}

export class TimeMachine {
  readonly state: PageTrackState;
  private readonly restorer: CheckpointRestorer;
  /** Window (checkpoint index) → its events read so far, most recently used last. */
  private readonly windows = new Map<number, Window>();
  private current = 0;
  /** The checkpoint the live state descends from, if it was only moved forward since. */
  private base = -1;

  private constructor(
    readonly log: string,
    readonly index: LogIndex,
  ) {
    const profile = getProfile(index.log.profile);
    this.state = new PageTrackState(profile);
    this.restorer = new CheckpointRestorer(index.checkpoints, index.arrays, profile.trackModes.length);
    this.restore(0);
  }

  static async open(log: string, options: IndexOptions = {}): Promise<TimeMachine> {
    const { index } = await openIndex(log, options);
    return new TimeMachine(log, index);
  }

  /** Closes the files of partly read windows. */
  async close(): Promise<void> {
    for (const w of this.windows.values()) await w.source?.return(undefined);
    this.windows.clear();
    closeIndex(this.index);
  }

  /** Events in the log. */
  get total(): number {
    return this.index.log.events;
  }

  /** The last event applied (0: none), and its command. */
  get seq(): number {
    return this.current;
  }

  get cmd(): number {
    return this.state.tallies.lastCmd;
  }

  /** The point after event `seq` (its command read from the log). */
  async pointAt(seq: number): Promise<LogPoint> {
    return seq === 0 ? { event: 0, command: 0 } : { event: seq, command: (await this.eventAt(seq)).cmd };
  }

  /** The current position as JSON outputs name it. */
  get point(): LogPoint {
    return { event: this.current, command: this.state.tallies.lastCmd };
  }

  /** The event sequence number a position stands for. */
  async resolve(p: Position): Promise<number> {
    if (p.kind === 'end') return this.total;
    if (p.kind === 'time') return this.resolve({ kind: 'command', n: await this.commandAtTime(p) });
    if (p.kind === 'event') {
      if (p.n > this.total) throw new PositionError(`${formatPosition(p)} is beyond the end: ${this.log} has ${this.total} events`);
      return p.n;
    }
    if (p.n > this.index.log.commands) throw new PositionError(`${formatPosition(p)} is beyond the end: the last command of ${this.log} is c${this.index.log.commands}`);
    // The last event whose command is <= n: find the window by checkpoint, then scan it.
    const cps = this.index.checkpoints;
    let w = 0;
    for (let i = 0; i < cps.length; i++) if (cps[i]!.cmd <= p.n) w = i;
    let seq = cps[w]!.seq;
    for (; w < cps.length; w++) {
      const events = await this.window(w);
      for (const e of events) {
        if (e.cmd > p.n) return seq;
        seq = e.seq;
      }
    }
    return seq;
  }

  /** The last command timestamped at or before p.t: windows by their checkpoints' times, then a scan. */
  private async commandAtTime(p: Extract<Position, { kind: 'time' }>): Promise<number> {
    const cps = this.index.checkpoints;
    let w = 0;
    for (let i = 0; i < cps.length; i++) if ((cps[i]!.ts ?? -1) <= p.t) w = i;
    let found: number | undefined;
    let any = false;
    for (; w < cps.length; w++) {
      for (const e of await this.window(w)) {
        if (e.type !== 'command' || e.ts === undefined) continue;
        any = true;
        if (Number(e.ts) > p.t) return found ?? this.noCommandBefore(p);
        found = e.cmd;
      }
    }
    if (!any && found === undefined && cps.every((c) => c.ts === undefined)) throw new PositionError(`t${p.text}: ${this.log} has no trace timestamps (t<SECONDS> positions work on logs made by pagetrack ingest)`);
    return found ?? this.noCommandBefore(p);
  }

  private noCommandBefore(p: Extract<Position, { kind: 'time' }>): number {
    throw new PositionError(`t${p.text} is before the first timestamped command of ${this.log}`);
  }

  async seekTo(p: Position): Promise<void> {
    await this.seek(await this.resolve(p));
  }

  /** Puts the state at "after event `target`". */
  async seek(target: number): Promise<void> {
    if (!Number.isSafeInteger(target) || target < 0 || target > this.total) {
      throw new PositionError(`e${target} is beyond the end: ${this.log} has ${this.total} events`);
    }
    const w = this.windowOf(target);
    if (w !== this.base || target < this.current) this.restore(w);
    const cp = this.index.checkpoints[w]!;
    if (target === this.current) return;
    const events = await this.window(w, target);
    for (let i = this.current - cp.seq; i < target - cp.seq; i++) this.state.apply(events[i]!);
    this.current = target;
  }

  /** Moves by `n` events (negative: back), clamped to the log. */
  async stepEvents(n: number): Promise<void> {
    await this.seek(Math.max(0, Math.min(this.total, this.current + n)));
  }

  /** Moves to the end of the next command (n > 0) or of the command before the current one (n < 0). */
  async stepCommands(n: number): Promise<void> {
    let cmd = this.current === 0 ? -1 : (await this.eventAt(this.current)).cmd;
    if (n > 0) {
      const atEnd = this.current === 0 || (await this.resolve({ kind: 'command', n: cmd })) === this.current;
      cmd = Math.min(this.index.log.commands, cmd + n - (atEnd ? 0 : 1));
      await this.seek(await this.resolve({ kind: 'command', n: cmd }));
    } else if (n < 0) {
      cmd = cmd + n;
      await this.seek(cmd < 0 ? 0 : await this.resolve({ kind: 'command', n: cmd }));
    }
  }

  /** The event with sequence number `seq` (1-based). */
  async eventAt(seq: number): Promise<PageTrackEvent> {
    if (seq < 1 || seq > this.total) throw new PositionError(`e${seq} does not exist: ${this.log} has events e1..e${this.total}`);
    const w = this.windowOf(seq - 1);
    return (await this.window(w, seq))[seq - 1 - this.index.checkpoints[w]!.seq]!;
  }

  /**
   * The next (dir 1) or previous (dir -1) event matching `filter`, from the current position; the
   * state is not moved. Undefined when there is none.
   */
  async find(filter: EventFilter, dir: 1 | -1): Promise<PageTrackEvent | undefined> {
    const cps = this.index.checkpoints;
    if (dir > 0) {
      for (let w = this.windowOf(this.current); w < cps.length; w++) {
        for (const e of await this.window(w)) if (e.seq > this.current && matches(e, filter)) return e;
      }
    } else {
      for (let w = this.windowOf(Math.max(0, this.current - 1)); w >= 0; w--) {
        const events = await this.window(w);
        for (let i = events.length - 1; i >= 0; i--) if (events[i]!.seq <= this.current && matches(events[i]!, filter)) return events[i];
      }
    }
    return undefined;
  }

  /**
   * The events in (from, to] that may touch `gfn`, in order: what `history` and `why` need,
   * without reading the rest. Windows whose filter rules the gfn out are skipped
   * (touch-filter.ts); of the others, only the lines their postings name are read
   * (gfn-postings.ts), each after its command's `command` event, so a reader always knows the
   * command of what it sees. A window without postings is read whole.
   */
  async *eventsNear(gfn: number, from = 0, to = this.total): AsyncGenerator<PageTrackEvent> {
    const cps = this.index.checkpoints;
    const touches = this.index.touches;
    const keys = postingKeys(gfn);
    let posted: PostedLines | undefined;
    let lastSeq = 0;
    let skipped = false;
    try {
      for (let w = this.windowOf(from); w < cps.length; ) {
        if (cps[w]!.seq >= to) return;
        if (!mayTouch(touches[w]!, gfn)) {
          skipped = true;
          w++;
          continue;
        }
        const seg = touches[w]!.postings;
        if (seg) {
          const { size, truncatedBytes, head } = this.index.log;
          posted ??= new PostedLines(this.log, size - truncatedBytes, head);
          const end = w + 1 < cps.length ? cps[w + 1]!.seq : this.total;
          for (const offset of postedOffsets(seg, cps[w]!.offset, keys)) {
            const e = await posted.at(offset);
            if (e.seq <= lastSeq && e.type === 'command') continue; // the open command, yielded already
            if (e.seq <= lastSeq || e.seq > end || (offset >= cps[w]!.offset && e.seq <= cps[w]!.seq)) {
              throw new LogError(this.log, 0, `the index posts event e${e.seq} at byte ${offset}, out of place in the window e${cps[w]!.seq + 1}..e${end}; run the command with --rebuild-index`);
            }
            lastSeq = e.seq;
            if (e.seq > to) return;
            if (e.seq > from || e.type === 'command') yield e;
          }
          skipped = true; // the window's other lines were not seen
          w++;
          continue;
        }
        // A run of windows that may touch the gfn: past two, one streaming read (as events()).
        let end = w;
        while (end + 1 < cps.length && cps[end + 1]!.seq < to && mayTouch(touches[end + 1]!, gfn) && !touches[end + 1]!.postings) end++;
        if (end - w >= 2) {
          let first = skipped;
          for await (const e of this.stream(Math.max(from, cps[w]!.seq), Math.min(to, end + 1 < cps.length ? cps[end + 1]!.seq : this.total))) {
            if (first && e.type !== 'command') {
              const c = await this.commandEvent(e.cmd, w);
              if (c && c.seq > lastSeq) yield c;
            }
            first = false;
            lastSeq = e.seq;
            yield e;
          }
          skipped = false;
          w = end + 1;
          continue;
        }
        const events = await this.window(w);
        if (skipped && events.length > 0 && events[0]!.type !== 'command') {
          const c = await this.commandEvent(events[0]!.cmd, w);
          if (c && c.seq > lastSeq) yield c;
        }
        skipped = false;
        for (const e of events) {
          if (e.seq > to) return;
          lastSeq = e.seq;
          if (e.seq > from) yield e;
        }
        w++;
      }
    } finally {
      await posted?.close();
    }
  }

  /** Command `cmd`'s own `command` event, looked for back from window `w`. */
  private async commandEvent(cmd: number, w: number): Promise<PageTrackEvent | undefined> {
    for (let v = w - 1; v >= 0; v--) {
      const events = await this.window(v);
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        if (e.cmd < cmd) return undefined;
        if (e.type === 'command' && e.cmd === cmd) return e;
      }
    }
    return undefined;
  }

  /** Every event in (from, to], in order, window by window. */
  async *events(from = 0, to = this.total): AsyncGenerator<PageTrackEvent> {
    // A long span (bisect's full pass): one streaming read with the chain hashed on a thread of
    // its own, as audit reads, not window by window kept in memory (measured: 23-34 s against
    // audit's 11 s on a 10 M-event log window by window).
    if (this.windowOf(Math.min(to, this.total)) - this.windowOf(from) > 2) {
      yield* this.stream(from, to);
      return;
    }
    for (let w = this.windowOf(from); w < this.index.checkpoints.length; w++) {
      for (const e of await this.window(w)) {
        if (e.seq > to) return;
        if (e.seq > from) yield e;
      }
    }
  }

  /** The checkpoint window holding "after event `seq`": the last checkpoint at or before it. */
  private windowOf(seq: number): number {
    const cps = this.index.checkpoints;
    let lo = 0;
    let hi = cps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cps[mid]!.seq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private restore(w: number): void {
    this.restorer.restore(this.state, w);
    this.current = this.index.checkpoints[w]!.seq;
    this.base = w;
  }

  /**
   * A reader of the log from checkpoint w on: the same validating reader as every other, starting
   * at the checkpoint's line, so the lines must chain from the hash the checkpoint names and every
   * event is schema-checked (README, "The log file": what the index is trusted for).
   */
  /**
   * The events after `from` up to `to` in the reader's batches, one read from the checkpoint
   * before `from` (a full pass: bisect; one await per batch, not per event).
   */
  async *batches(from = 0, to = this.total): AsyncGenerator<readonly PageTrackEvent[]> {
    for await (const batch of this.readFrom(this.windowOf(from), { hashWorker: true })) {
      if (batch.length === 0) continue;
      const first = batch[0]!.seq;
      const last = batch.at(-1)!.seq;
      if (last <= from) continue;
      if (first > from && last <= to) yield batch;
      else yield batch.filter((e) => e.seq > from && e.seq <= to);
      if (last >= to) return;
    }
  }

  /** The events after `from` up to `to`, one by one, in one read from the checkpoint before `from`. */
  private async *stream(from: number, to: number): AsyncGenerator<PageTrackEvent> {
    for await (const batch of this.batches(from, to)) yield* batch;
  }

  /** The log read from checkpoint w on, as the index vouches for it (its chain from the checkpoint's hash). */
  private readFrom(w: number, o: { hashWorker: boolean; chunkBytes?: number }): AsyncGenerator<PageTrackEvent[]> {
    const cp = this.index.checkpoints[w]!;
    const { profile, created } = this.index.log;
    return new LogReader(this.log, {
      start: { offset: cp.offset, line: cp.line, prevHash: cp.prevHash, seq: cp.seq, cmd: cp.cmd },
      header: { format: LOG_FORMAT, version: LOG_VERSION, profile, created },
      ...o,
    }).batches();
  }

  /** One window, in small reads with the chain hashed here (a seek reads a little of it). */
  private read(w: number): AsyncGenerator<PageTrackEvent[]> {
    return this.readFrom(w, { hashWorker: false, chunkBytes: WINDOW_READ_BYTES });
  }

  /**
   * The events after checkpoint w, read at least up to event `need` (all of them by default);
   * kept for the most recently used windows.
   */
  private async window(w: number, need = Number.POSITIVE_INFINITY): Promise<PageTrackEvent[]> {
    const cps = this.index.checkpoints;
    let win = this.windows.get(w);
    if (win) {
      this.windows.delete(w);
      this.windows.set(w, win);
    } else {
      const end = w + 1 < cps.length ? cps[w + 1]!.seq : this.total;
      win = { events: [], end, source: end > cps[w]!.seq ? this.read(w) : undefined };
      this.windows.set(w, win);
      if (this.windows.size > WINDOWS_KEPT) {
        const oldest = this.windows.keys().next().value!;
        await this.windows.get(oldest)!.source?.return(undefined);
        this.windows.delete(oldest);
      }
    }
    const want = Math.min(need, win.end);
    while (win.source && cps[w]!.seq + win.events.length < want) {
      const r = await win.source.next();
      if (r.done) {
        win.source = undefined;
        break;
      }
      for (const e of r.value) {
        if (e.seq > win.end) break;
        win.events.push(e);
      }
      if (cps[w]!.seq + win.events.length >= win.end) {
        await win.source.return(undefined);
        win.source = undefined;
      }
    }
    return win.events;
  }
}
