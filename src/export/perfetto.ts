/**
 * The Chrome trace-event JSON (the "JSON Array/Object Format" that ui.perfetto.dev and
 * chrome://tracing open): `{"traceEvents":[...],"displayTimeUnit":"ns",...}`, streamed out.
 *
 * One process (pid 1) with these tracks:
 * - thread 1 "commands": one complete slice (`ph:"X"`) per command, named by its op;
 * - threads 2-6: instant events (`ph:"i"`, `s:"t"`) for WARNs, shadow-page zaps and zap-alls,
 *   TLB flushes, audit findings (src/audit/auditor.ts, run in the same pass) and markers;
 * - counters (`ph:"C"`, args `{"value": n}`): tracked gfns in all, per memslot and per user
 *   (units held), live shadow pages and write-protected SPTEs (src/series/summary-tracker.ts),
 *   each emitted at the end of a command that changed it.
 *
 * Time: for a log made by `pagetrack ingest`, the trace's own clock: a command starts at the
 * timestamp its trace line carried (seconds, as printed) and each of its events 1 ns after the
 * one before (a command's events happen under one lock; nanoseconds keep them in order without
 * moving them off the trace's microsecond grid); a command without a timestamp follows the one
 * before. Other logs: event N at N µs. Traces are in µs (`ts`, `dur`); 64-bit integer
 * nanoseconds are kept internally and printed as µs with three decimals.
 */
import { type Finding, Auditor } from '../audit/auditor.js';
import { hex } from '../domain/gfn.js';
import type { PageTrackEvent } from '../events/types.js';
import type { LogHeader } from '../log/format.js';
import { EventEncoder } from '../log/codec.js';
import type { SummaryTracker } from '../series/summary-tracker.js';
import type { Sink } from './sink.js';
import { type WindowOptions, type WindowVisitor, readWindow } from './window.js';

export const TRACKS = { commands: 1, warns: 2, zaps: 3, flushes: 4, findings: 5, markers: 6 } as const;
const TRACK_NAMES: Record<number, string> = { 1: 'commands', 2: 'WARNs', 3: 'zaps', 4: 'TLB flushes', 5: 'audit findings', 6: 'markers' };

const b = (s: string) => Buffer.from(s, 'latin1');
const SEP = b(',\n');
const INSTANT: Record<number, Buffer> = Object.fromEntries(Object.values(TRACKS).map((tid) => [tid, b(`{"ph":"i","s":"t","pid":1,"tid":${tid},"ts":`)]));
const SLICE = b(`{"ph":"X","pid":1,"tid":${TRACKS.commands},"ts":`);
const COUNTER = b('{"ph":"C","pid":1,"ts":');
const DUR = b(',"dur":');
const NAME = b(',"name":');
const ARGS = b(',"args":');
const SLICE_ARGS = b(',"cat":"command","args":{"cmd":');
const EVENTS = b(',"events":');
const FIRST = b(',"first":');
const LAST = b(',"last":');
const VALUE = b(',"args":{"value":');
const CLOSE2 = b('}}');
const NO_ARGS: Record<string, unknown> = Object.freeze({});

/** Commands read without a timestamp before the clock is decided: more means "not an ingested log". */
const UNTIMED_COMMANDS = 1000;

/** A trace timestamp as printed ("1404.389384") in integer nanoseconds. */
function traceNs(ts: string): number {
  const dot = ts.indexOf('.');
  if (dot < 0) return Number(ts) * 1e9;
  const frac = ts.slice(dot + 1, dot + 10).padEnd(9, '0');
  return Number(ts.slice(0, dot)) * 1e9 + Number(frac);
}

export interface PerfettoOptions extends WindowOptions {
  /** Audit in the same pass and show findings (default true); needs the log from its start. */
  readonly findings?: boolean;
}

export interface PerfettoStats {
  readonly events: number;
  readonly traceEvents: number;
  readonly clock: 'trace' | 'events';
  readonly findings: number | undefined;
}

interface OpenCommand {
  cmd: number;
  name: string;
  startNs: number;
  firstSeq: number;
  lastSeq: number;
  lastNs: number;
  events: number;
  args: Record<string, unknown>;
}

export class PerfettoWriter implements WindowVisitor {
  private tracker!: SummaryTracker;
  private auditor: Auditor | undefined;
  private clock: 'trace' | 'events' | undefined;
  private readonly pending: PageTrackEvent[] = [];
  private untimed = 0;
  private lastNs = -1;
  private cur: OpenCommand | undefined;
  private dirty = true;
  private first = true;
  private readonly counters = new Map<string, number>();
  /** Per command of the window (index cmd - firstCmd): its start (ns) and first event, for the findings' times. */
  private cmdStart = new Float64Array(1024);
  private cmdFirst = new Float64Array(1024);
  private firstCmd = -1;
  traceEvents = 0;
  events = 0;

  constructor(
    private readonly sink: Sink,
    private readonly log: string,
    private readonly o: PerfettoOptions,
  ) {}

  /** Trace events are written as bytes (the log writer's encoder: no string per event, little garbage). */
  private readonly w = new EventEncoder(1 << 20);

  private emit(json: string): void {
    this.start();
    this.w.bytes(Buffer.from(json, 'utf8'));
  }

  /** Begins one trace event: the separator after the one before. */
  private start(): void {
    if (!this.first) this.w.bytes(SEP);
    this.first = false;
    this.traceEvents++;
  }

  /** A time in µs with three decimals (nanoseconds kept exact). */
  private ts(ns: number): void {
    const whole = Math.floor(ns / 1000);
    const frac = ns - whole * 1000;
    this.w.number(whole);
    if (frac !== 0) {
      this.w.byte(46);
      this.w.byte(48 + Math.floor(frac / 100));
      this.w.byte(48 + (Math.floor(frac / 10) % 10));
      this.w.byte(48 + (frac % 10));
    }
  }

  begin(header: LogHeader, tracker: SummaryTracker): void {
    this.tracker = tracker;
    if (this.o.findings !== false) this.auditor = new Auditor(header.profile);
    this.w.bytes(Buffer.from('{"traceEvents":[\n'));
    this.emit(`{"ph":"M","pid":1,"tid":0,"name":"process_name","args":{"name":${JSON.stringify(`pagetrack ${this.log} (${header.profile})`)}}}`);
    for (const [tid, name] of Object.entries(TRACK_NAMES)) {
      this.emit(`{"ph":"M","pid":1,"tid":${tid},"name":"thread_name","args":{"name":"${name}"}}`);
      this.emit(`{"ph":"M","pid":1,"tid":${tid},"name":"thread_sort_index","args":{"sort_index":${tid}}}`);
    }
  }

  /** Events before the window, read from the start for the audit's sake. */
  prefix(e: PageTrackEvent): void {
    this.auditor?.see(e);
  }

  async batch(events: readonly PageTrackEvent[], from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      const e = events[i]!;
      if (this.clock === undefined) {
        this.pending.push(e);
        if (e.type === 'command' || e.type === 'command-rejected') {
          if (e.ts !== undefined) this.decide('trace', traceNs(e.ts));
          else if (++this.untimed >= UNTIMED_COMMANDS) this.decide('events');
        }
        continue;
      }
      this.see(e);
    }
    this.events += to - from;
    if (this.w.pos >= 1 << 20) this.sink.write(this.w.take().bytes);
    await this.sink.drain();
  }

  /** The clock, once known; the untimed events before the first timestamp end 1 ns apart just before it. */
  private decide(clock: 'trace' | 'events', firstNs = 0): void {
    this.clock = clock;
    if (clock === 'trace') this.lastNs = Math.max(-1, firstNs - this.pending.length - 1);
    for (const e of this.pending) this.see(e);
    this.pending.length = 0;
  }

  /** One event of the window, in order, once the clock is known. */
  private see(e: PageTrackEvent): void {
    let c = this.cur;
    if (!c || e.cmd !== c.cmd) {
      let start: number;
      if (this.clock === 'events') start = e.seq * 1000;
      else {
        const ts = e.type === 'command' || e.type === 'command-rejected' ? e.ts : undefined;
        start = ts !== undefined ? Math.max(traceNs(ts), this.lastNs + 1) : this.lastNs + 1;
        if (this.lastNs < 0 && ts === undefined) start = 0;
      }
      if (c) this.close(c, start);
      else this.initialCounters(start);
      c = this.open(e, start);
    }
    const ns = this.clock === 'events' ? e.seq * 1000 : c.events === 0 ? c.startNs : this.lastNs + 1;
    this.lastNs = ns;
    c.lastSeq = e.seq;
    c.lastNs = ns;
    c.events++;
    if (this.tracker.see(e)) this.dirty = true;
    this.auditor?.see(e);
    switch (e.type) {
      case 'command':
        c.name = e.command.op;
        if (e.file !== undefined || e.line !== undefined || e.ts !== undefined) c.args = { ...(e.file !== undefined ? { file: e.file } : {}), ...(e.line !== undefined ? { line: e.line } : {}), ...(e.ts !== undefined ? { ts: e.ts } : {}) };
        return;
      case 'command-rejected':
        c.name = `rejected ${e.op ?? '?'}`;
        c.args = { reason: e.reason, ...(e.line !== undefined ? { line: e.line } : {}) };
        return;
      case 'warn':
        return this.instant(TRACKS.warns, ns, `WARN ${e.kind}`, { seq: e.seq, fn: e.fn, printed: e.printed, ...(e.gfn !== undefined ? { gfn: hex(e.gfn) } : {}), ...(e.user !== undefined ? { user: e.user } : {}), ...(e.value !== undefined ? { value: e.value } : {}) });
      case 'sp-zapped':
        return this.instant(TRACKS.zaps, ns, 'sp-zapped', { seq: e.seq, sp: e.sp, reason: e.reason });
      case 'mmu-zapped-all':
        return this.instant(TRACKS.zaps, ns, 'zap all', { seq: e.seq, reason: e.reason });
      case 'tlb-flushed':
        return this.instant(TRACKS.flushes, ns, 'TLB flush', { seq: e.seq, reason: e.reason });
      case 'marked':
        return this.instant(TRACKS.markers, ns, 'mark', { seq: e.seq, text: e.text });
      default:
        return;
    }
  }

  private instant(tid: number, ns: number, name: string, args: Record<string, unknown>): void {
    const w = this.w;
    this.start();
    w.bytes(INSTANT[tid]!);
    this.ts(ns);
    w.bytes(NAME);
    w.string(name);
    w.bytes(ARGS);
    w.value(args);
    w.byte(125);
  }

  private open(e: PageTrackEvent, start: number): OpenCommand {
    const c: OpenCommand = { cmd: e.cmd, name: e.cmd === 0 ? 'VM creation' : `c${e.cmd} (began before the window)`, startNs: start, firstSeq: e.seq, lastSeq: e.seq, lastNs: start, events: 0, args: NO_ARGS };
    this.cur = c;
    if (this.firstCmd < 0) this.firstCmd = e.cmd;
    const i = e.cmd - this.firstCmd;
    if (i >= this.cmdStart.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(Math.max(i + 1, a.length * 2));
        b.set(a);
        return b;
      };
      this.cmdStart = grow(this.cmdStart);
      this.cmdFirst = grow(this.cmdFirst);
    }
    this.cmdStart[i] = start;
    this.cmdFirst[i] = e.seq;
    return c;
  }

  /** Ends a command: its slice (to where the next one starts) and the counters it changed, at its last event. */
  private close(c: OpenCommand, nextStart: number): void {
    const w = this.w;
    this.start();
    w.bytes(SLICE);
    this.ts(c.startNs);
    w.bytes(DUR);
    this.ts(Math.max(0, nextStart - c.startNs));
    w.bytes(NAME);
    w.string(c.name);
    w.bytes(SLICE_ARGS);
    w.number(c.cmd);
    w.bytes(EVENTS);
    w.number(c.events);
    w.bytes(FIRST);
    w.number(c.firstSeq);
    w.bytes(LAST);
    w.number(c.lastSeq);
    for (const k in c.args) {
      w.byte(44);
      w.string(k);
      w.byte(58);
      w.value(c.args[k]);
    }
    w.bytes(CLOSE2);
    if (this.dirty) this.counterValues(c.lastNs);
    this.dirty = false;
  }

  private initialCounters(ns: number): void {
    this.counterValues(ns, true);
    this.dirty = false;
  }

  private counter(ns: number, name: string, value: number, force = false): void {
    if (!force && this.counters.get(name) === value) return;
    this.counters.set(name, value);
    const w = this.w;
    this.start();
    w.bytes(COUNTER);
    this.ts(ns);
    w.bytes(NAME);
    w.string(name);
    w.bytes(VALUE);
    w.number(value);
    w.bytes(CLOSE2);
  }

  private counterValues(ns: number, force = false): void {
    const t = this.tracker;
    this.counter(ns, 'tracked gfns', t.tracked, force);
    this.counter(ns, 'shadow pages', t.shadowPages, force);
    this.counter(ns, 'write-protected SPTEs', t.writeProtected, force);
    const seen = new Set<string>();
    for (const [k, n] of t.trackedBySlot) {
      const name = `tracked gfns as${Math.floor(k / 1024)}/slot${k % 1024}`;
      seen.add(name);
      this.counter(ns, name, n, force);
    }
    for (const [u, n] of t.trackedByUser) {
      const name = `units held by ${u}`;
      seen.add(name);
      this.counter(ns, name, n, force);
    }
    // A slot deleted or a user holding nothing now: its track drops to 0.
    for (const [name, v] of this.counters) if (v !== 0 && !seen.has(name) && (name.startsWith('tracked gfns as') || name.startsWith('units held by '))) this.counter(ns, name, 0);
  }

  /** Closes the trace: the last command, the findings, the trailer. */
  async end(): Promise<number | undefined> {
    if (this.clock === undefined) this.decide('events');
    if (this.cur) this.close(this.cur, this.cur.lastNs + (this.clock === 'events' ? 1000 : 1));
    let findings: number | undefined;
    if (this.auditor) {
      const report = this.auditor.finish();
      const last = this.cur?.lastSeq ?? 0;
      const inWindow = report.findings.filter((f) => {
        const i = this.findingCmd(f) - this.firstCmd;
        return this.firstCmd >= 0 && i >= 0 && this.findingSeq(f) >= this.cmdFirst[i]! && this.findingSeq(f) <= last;
      });
      inWindow.sort((a, b) => this.findingSeq(a) - this.findingSeq(b));
      for (const f of inWindow) {
        const i = this.findingCmd(f) - this.firstCmd;
        const step = this.clock === 'events' ? 1000 : 1;
        const ns = this.cmdStart[i]! + (this.findingSeq(f) - this.cmdFirst[i]!) * step;
        this.instant(TRACKS.findings, ns, `${f.class} ${f.severity}`, { seq: this.findingSeq(f), cmd: this.findingCmd(f), message: f.message, ...(f.gfn !== undefined ? { gfn: hex(f.gfn) } : {}), ...(f.user !== undefined ? { user: f.user } : {}), ...(f.node !== undefined ? { node: f.node } : {}) });
      }
      findings = inWindow.length;
    }
    const other = { log: this.log, clock: this.clock === 'trace' ? 'trace timestamps (ingested log)' : '1 event = 1 us', events: this.events, findings: findings === undefined ? 'not audited (--no-findings)' : findings };
    this.w.bytes(Buffer.from(`\n],"displayTimeUnit":"ns","otherData":${JSON.stringify(other)}}\n`, 'utf8'));
    this.sink.write(this.w.take().bytes);
    return findings;
  }

  private findingSeq(f: Finding): number {
    return f.position.event;
  }
  private findingCmd(f: Finding): number {
    return f.position.command;
  }

  get clockUsed(): 'trace' | 'events' {
    return this.clock ?? 'events';
  }
}

/** `pagetrack export LOG --format perfetto`. */
export async function exportPerfetto(log: string, sink: Sink, o: PerfettoOptions): Promise<PerfettoStats> {
  const w = new PerfettoWriter(sink, log, o);
  try {
    // The audit needs the whole history: with findings, the log is read from its start.
    await readWindow(log, { label: 'perfetto', ...o, fromStart: o.findings !== false }, w);
    const findings = await w.end();
    await sink.finish();
    return { events: w.events, traceEvents: w.traceEvents, clock: w.clockUsed, findings };
  } catch (err) {
    sink.abort();
    throw err;
  }
}
