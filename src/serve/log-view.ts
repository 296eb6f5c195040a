/**
 * Everything `serve` answers about one log, read-only: the time machine over its index (every use
 * of it one at a time: a seek moves its one state), the timeline, the background audit. Each
 * answer is built by the same functions as the CLI's JSON output, so the page shows what
 * `state --json`, `diff --json`, `why --json` and `history --json` print.
 */
import { basename } from 'node:path';
import { getProfile } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { LogReader } from '../log/reader.js';
import { snapshot } from '../projections/snapshot.js';
import { PageTrackState } from '../projections/state.js';
import { SummaryTracker, scanSummary } from '../series/summary-tracker.js';
import { CheckpointRestorer } from '../timetravel/checkpoint.js';
import { copyState, diffStates } from '../timetravel/diff.js';
import { gfnHistory, whyTracked } from '../timetravel/history.js';
import type { IndexOptions } from '../timetravel/log-index.js';
import type { Position } from '../timetravel/position.js';
import { TimeMachine } from '../timetravel/time-machine.js';
import { touchJson, whyJson } from '../cli/json-output.js';
import { type StateView, narrow, spteCut } from '../cli/state-view.js';
import { BackgroundAudit } from './findings.js';
import { checkpointSummary } from './checkpoint-summary.js';
import { slotSeries } from './cells.js';
import { Timeline } from './timeline.js';

export class NotFound extends Error {}

export class LogView {
  readonly timeline: Timeline;
  readonly audit: BackgroundAudit;
  private queue: Promise<unknown> = Promise.resolve();
  /** A second state for the timeline's checkpoint restores, so they never move the time machine's. */
  private readonly restState: PageTrackState;
  private readonly restorer: CheckpointRestorer;

  private constructor(
    readonly log: string,
    readonly tm: TimeMachine,
    options: { background?: boolean },
  ) {
    const profile = getProfile(tm.index.log.profile);
    this.restState = new PageTrackState(profile);
    this.restorer = new CheckpointRestorer(tm.index.checkpoints, tm.index.arrays, profile.trackModes.length);
    const cps = tm.index.checkpoints.map((c) => c.seq);
    this.timeline = new Timeline({
      total: tm.total,
      checkpoints: cps,
      trackerAt: (w) => this.serial(async () => {
        this.restorer.restore(this.restState, w);
        return SummaryTracker.fromState(this.restState);
      }),
      windowEvents: (w) => this.serial(async () => {
        const out: PageTrackEvent[] = [];
        const end = w + 1 < cps.length ? cps[w + 1]! : tm.total;
        for await (const e of tm.events(cps[w]!, end)) out.push(e);
        return out;
      }),
      checkpointValues: (w) => checkpointSummary(tm.index.checkpoints[w]!.small),
      allBatches: () => this.readAll(),
    });
    this.audit = new BackgroundAudit(log);
    if (options.background !== false) {
      // First the numbers at each checkpoint (what the first view shows), then the audit (on its own
      // thread) and the pass that refines the timeline.
      void this.timeline.warm().then(() => {
        void this.audit.start();
        return this.timeline.start();
      });
    }
  }

  /** Opens the log's index (building it when needed: the only file serve may write, beside the log as every time-travel command does). */
  static async open(log: string, options: IndexOptions & { background?: boolean } = {}): Promise<LogView> {
    const { background, ...indexOptions } = options;
    return LogView.of(await TimeMachine.open(log, indexOptions), background === undefined ? {} : { background });
  }

  /** A view over a time machine already open (the CLI opens it with its progress bar and notes). */
  static of(tm: TimeMachine, options: { background?: boolean } = {}): LogView {
    return new LogView(tm.log, tm, options);
  }

  async close(): Promise<void> {
    this.timeline.stop();
    await this.audit.close();
    await this.serial(() => this.tm.close());
  }

  /** Runs `f` when every earlier use of the time machine has finished. */
  serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The log from its first event, validated by the same reader as every command (the background pass). */
  private async *readAll(): AsyncGenerator<PageTrackEvent[]> {
    // Small reads, so requests wait at most one batch; the reader hashes a large log's chain on a thread of its own.
    yield* new LogReader(this.log, { chunkBytes: 256 << 10 }).batches();
  }

  meta() {
    const l = this.tm.index.log;
    const cps = this.tm.index.checkpoints;
    const times = cps.filter((c) => c.ts !== undefined).map((c) => [c.seq, c.ts!] as const);
    const f = this.audit.status;
    return {
      log: basename(this.log),
      profile: l.profile,
      created: l.created,
      events: l.events,
      commands: l.commands,
      interval: this.tm.index.interval,
      checkpoints: cps.length,
      // Ingested logs: the trace time at each checkpoint, [event, seconds] (positions t<SECONDS>).
      times,
      timeline: { reduced: this.timeline.reduced, ...(this.timeline.failed ? { error: this.timeline.failed } : {}) },
      findings: f.ready ? { ready: true, count: f.report.findings.length } : { ready: false, ...(f.error ? { error: f.error } : {}) },
    };
  }

  /** The event number a position stands for. */
  resolve(p: Position): Promise<number> {
    return this.serial(() => this.tm.resolve(p));
  }

  /** Exactly what `state LOG --json --at P` prints (with the same filters), as text. */
  stateJson(at: number, view: StateView): Promise<string> {
    return this.serial(async () => {
      await this.tm.seek(at);
      return JSON.stringify(narrow(snapshot(this.tm.state, getProfile(this.tm.state.profile).trackModes, spteCut(view)), view), null, 2);
    });
  }

  /** The headline numbers at a point (the timeline's series, exactly: one scan of the state). */
  summary(at: number) {
    return this.serial(async () => {
      await this.tm.seek(at);
      const s = scanSummary(this.tm.state);
      return {
        position: this.tm.point,
        tracked: s.tracked,
        writeProtected: s.writeProtected,
        shadowPages: s.shadowPages,
        tlbFlushes: s.tlbFlushes,
        warns: s.warns,
        zaps: s.zaps,
        trackedBySlot: Object.fromEntries([...s.trackedBySlot].map(([k, n]) => [slotSeries(k).slice(5), n])),
        trackedByUser: Object.fromEntries([...s.trackedByUser].sort(([a], [b]) => (a < b ? -1 : 1))),
      };
    });
  }

  /** What `diff LOG A B --json` prints. */
  diff(a: number, b: number) {
    return this.serial(async () => {
      await this.tm.seek(a);
      const before = copyState(this.tm.state, this.tm.point);
      await this.tm.seek(b);
      return diffStates(before, copyState(this.tm.state, this.tm.point));
    });
  }

  /** What `why LOG --gfn G --at P --as A --json` prints; NotFound when no slot holds the gfn there. */
  why(gfn: number, as: number, at: number) {
    return this.serial(async () => {
      const w = await whyTracked(this.tm, gfn, as, at);
      if (!w.slot) throw new NotFound(`after e${at} no memslot of address space ${as} holds gfn 0x${gfn.toString(16)}`);
      return whyJson(w);
    });
  }

  /** What `history LOG --gfn G [--as A] [--to P] --json` prints; NotFound when no event touches it. */
  history(gfn: number, as: number | undefined, to: number) {
    return this.serial(async () => {
      const touches = await gfnHistory(this.tm, gfn, { ...(as !== undefined ? { as } : {}), to });
      if (touches.length === 0) throw new NotFound(`no event up to e${to} touches gfn 0x${gfn.toString(16)}${as !== undefined ? ` in address space ${as}` : ''}: no memslot ever held it`);
      return { gfn, as: as ?? null, to: await this.tm.pointAt(to), touches: touches.map(touchJson) };
    });
  }

  /** One event (the page's event details). */
  event(seq: number) {
    return this.serial(() => this.tm.eventAt(seq));
  }
}
