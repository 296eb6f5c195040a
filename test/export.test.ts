/**
 * Exports read back: CSV parsed, Parquet through DuckDB, the Perfetto JSON checked against the
 * trace-event format's rules; every count and a set of exact values compared with the log.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Auditor } from '../src/audit/auditor.js';
import { describeError } from '../src/cli/errors.js';
import { runExport } from '../src/cli/export-command.js';
import { LINUX_6_9, getProfile } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { EVENT_COLUMNS, SUMMARY_COLUMNS } from '../src/export/columns.js';
import { exportCsv } from '../src/export/csv.js';
import { exportParquet } from '../src/export/parquet.js';
import { exportPerfetto } from '../src/export/perfetto.js';
import { parquetOf, runQuery } from '../src/export/query.js';
import { OutputClosed, StdoutSink, sinkFor } from '../src/export/sink.js';
import { ingest } from '../src/ingest/ingest.js';
import { LogWriter } from '../src/log/writer.js';
import { readAllEvents } from '../src/log/reader.js';
import { PageTrackState } from '../src/projections/state.js';
import { type Summary, scanSummary } from '../src/series/summary-tracker.js';
import { openIndex } from '../src/timetravel/log-index.js';
import { WORKLOADS } from '../src/workloads/index.js';
import { parseCommand } from '../src/script/command-schema.js';
import { kernelSp, tracefsLine } from './trace-printers.js';

const DEMO = join(import.meta.dirname, '..', 'examples', 'demo.log.ndjson');
let dir: string;
let sim: string;
let demo: string;
const logs: Record<string, { events: PageTrackEvent[]; byCmd: Map<number, Summary> }> = {};

/** The log's events and, per command, a from-scratch scan of the state after its last event. */
async function truth(log: string) {
  const { events, summary } = await readAllEvents(log);
  const state = new PageTrackState(getProfile(summary.header.profile));
  const byCmd = new Map<number, Summary>();
  for (const [i, e] of events.entries()) {
    state.apply(e);
    if (i + 1 === events.length || events[i + 1]!.cmd !== e.cmd) byCmd.set(e.cmd, scanSummary(state));
  }
  return { events, byCmd };
}

/** RFC 4180 CSV, as DuckDB and spreadsheets read it. */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else cell += c;
  }
  const [head, ...body] = rows;
  for (const r of body) expect(r.length).toBe(head!.length);
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i]!])));
}

const str = (x: unknown) => (x === undefined ? '' : String(x));

async function sql<T = Record<string, unknown>>(q: string): Promise<T[]> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(q)).getRowObjectsJson() as T[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-export-'));
  demo = join(dir, 'demo.log.ndjson');
  copyFileSync(DEMO, demo);
  // A small simulated log: the shadow-mmu workload, a few thousand events.
  sim = join(dir, 'sim.log.ndjson');
  const w = WORKLOADS.find((x) => x.name === 'shadow-mmu')!;
  const profile = getProfile(w.profile);
  const writer = LogWriter.create(sim, profile.name);
  w.run(new PageTrackVm({ profile, log: writer, ...w.vm }), { events: 4000, seed: 7 });
  await writer.close();
  logs.demo = await truth(demo);
  logs.sim = await truth(sim);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['demo', 'sim'])('CSV read back (%s)', (name) => {
  const path = () => (name === 'demo' ? demo : sim);

  it('events: one row per event, the typed columns holding each event field', async () => {
    const out = join(dir, `${name}.events.csv`);
    const r = await exportCsv(path(), 'events', sinkFor(out, 'CSV export'), { quiet: true });
    const { events } = logs[name]!;
    const rows = parseCsv(readFileSync(out, 'utf8'));
    expect(Object.keys(rows[0]!)).toEqual(EVENT_COLUMNS.map((c) => c.name));
    expect([r.rows, rows.length]).toEqual([events.length, events.length]);
    for (const [i, e] of events.entries()) {
      const row = rows[i]!;
      const f = e as unknown as Record<string, unknown>;
      expect([row.seq, row.cmd, row.type]).toEqual([String(e.seq), String(e.cmd), e.type]);
      if (e.type === 'command') {
        expect(row.op).toBe(e.command.op);
        expect(JSON.parse(row.detail!).command).toEqual(e.command);
        continue;
      }
      if ('as' in e) expect(row.addr_space).toBe(str(f.as));
      if ('slot' in e) expect(row.slot).toBe(str(f.slot));
      if ('user' in e) expect(row.user).toBe(str(f.user));
      if ('node' in e) expect(row.node).toBe(str(f.node));
      if ('sp' in e) expect(row.sp).toBe(str(f.sp));
      if ('gpa' in e) expect([row.gpa, row.gfn]).toEqual([str(f.gpa), String(Math.floor((f.gpa as number) / 4096))]);
      else if ('gfn' in e) expect(row.gfn).toBe(str(f.gfn));
      if (e.type === 'track-count-step') expect([row.mode, row.delta, row.count]).toEqual([str(e.mode), str(e.delta), str(e.count)]);
      if (e.type === 'lpage-step') expect([row.level, row.index, row.delta, row.value]).toEqual([str(e.level), str(e.index), str(e.delta), str(e.value)]);
      if (e.type === 'warn') expect([row.kind, row.fn, row.printed, row.value]).toEqual([e.kind, e.fn, String(e.printed), str(e.value)]);
      if (e.type === 'fault') expect([row.write_fault, row.present, row.outcome, row.host_writable]).toEqual([String(e.write), String(e.present), e.outcome, String(e.hostWritable)]);
      if (e.type === 'write') expect([row.bytes, row.via, row.outcome]).toEqual([str(e.bytes), e.via, e.outcome]);
      if (e.type === 'spte-installed') expect([row.level, row.writable]).toEqual([str(e.level), String(e.writable)]);
      if (e.type === 'sp-created') expect([row.level, row.direct]).toEqual([str(e.level), String(e.direct)]);
      if (e.type === 'tlb-flushed' || e.type === 'sp-zapped' || e.type === 'spte-zapped' || e.type === 'mmu-zapped-all') expect(row.reason).toBe(e.reason);
      if (e.type === 'memslot-created') expect([row.base, row.npages, JSON.parse(row.detail!)]).toEqual([str(e.base), str(e.npages), { flags: e.flags, uaddr: e.uaddr }]);
    }
  });

  it('summary: one row per command, its numbers equal to a scan of the state after it', async () => {
    const out = join(dir, `${name}.summary.csv`);
    await exportCsv(path(), 'summary', sinkFor(out, 'CSV export'), { quiet: true });
    const { byCmd, events } = logs[name]!;
    const rows = parseCsv(readFileSync(out, 'utf8'));
    expect(Object.keys(rows[0]!)).toEqual(SUMMARY_COLUMNS.map((c) => c.name));
    expect(rows.map((r) => Number(r.cmd))).toEqual([...byCmd.keys()]);
    for (const r of rows) {
      const s = byCmd.get(Number(r.cmd))!;
      expect([r.seq, r.tracked, r.write_protected, r.shadow_pages, r.tlb_flushes, r.warns, r.zaps].map(Number)).toEqual([s.seq, s.tracked, s.writeProtected, s.shadowPages, s.tlbFlushes, s.warns, s.zaps]);
      expect(JSON.parse(r.by_user!)).toEqual(Object.fromEntries(s.trackedByUser));
      expect(JSON.parse(r.by_slot!)).toEqual(Object.fromEntries([...s.trackedBySlot].map(([k, n]) => [`as${Math.floor(k / 1024)}/slot${k % 1024}`, n])));
      expect(Number(r.events)).toBe(events.filter((e) => e.cmd === Number(r.cmd)).length);
    }
  });
});

describe('Parquet read back through DuckDB', () => {
  it('events and summary of the simulated log: row counts, column types, exact values', async () => {
    const ev = join(dir, 'sim.events.parquet');
    const sm = join(dir, 'sim.summary.parquet');
    const rows = await exportParquet(sim, { events: ev, summary: sm }, { quiet: true });
    const { events, byCmd } = logs.sim!;
    expect(rows).toEqual({ events: events.length, summary: byCmd.size });
    const types = await sql<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${ev}'`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual(EVENT_COLUMNS.map((c) => [c.name, c.type]));
    const steps = events.filter((e) => e.type === 'track-count-step');
    expect(steps.length).toBeGreaterThan(0);
    const got = await sql(`SELECT seq, addr_space, gfn, "user", delta, count FROM '${ev}' WHERE type = 'track-count-step' ORDER BY seq`);
    expect(got).toEqual(steps.map((e) => ({ seq: String(e.seq), addr_space: e.as, gfn: String(e.gfn), user: e.user, delta: e.delta, count: e.count })));
    const byType = await sql<{ type: string; n: string }>(`SELECT type, count(*) AS n FROM '${ev}' GROUP BY type ORDER BY type`);
    const want = new Map<string, number>();
    for (const e of events) want.set(e.type, (want.get(e.type) ?? 0) + 1);
    expect(byType.map((r) => [r.type, Number(r.n)])).toEqual([...want].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const sum = await sql<{ cmd: string; tracked: string; shadow_pages: string; zaps: string }>(`SELECT cmd, tracked, shadow_pages, zaps FROM '${sm}' ORDER BY cmd`);
    expect(sum.map((r) => [Number(r.cmd), Number(r.tracked), Number(r.shadow_pages), Number(r.zaps)])).toEqual([...byCmd].map(([c, s]) => [c, s.tracked, s.shadowPages, s.zaps]));
    const stypes = await sql<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${sm}'`);
    expect(stypes.map((t) => [t.column_name, t.column_type])).toEqual(SUMMARY_COLUMNS.map((c) => [c.name, c.type]));
  });
});

describe('pagetrack query', () => {
  it('exports once into a signed cache beside the index, reuses it, and exports again when the log changes', async () => {
    const log = join(dir, 'q.log.ndjson');
    copyFileSync(sim, log);
    const notes: string[] = [];
    const a = await parquetOf(log, { quiet: true, onNote: (n) => notes.push(n) });
    expect([a.exported, a.events]).toEqual([true, `${log}.idx.events.parquet`]);
    expect((await parquetOf(log, { quiet: true, onNote: (n) => notes.push(n) })).exported).toBe(false);
    expect(notes).toEqual([]);
    // Any write to the log moves its change time: the cache no longer names it.
    const t = new Date();
    utimesSync(log, t, t);
    expect((await parquetOf(log, { quiet: true, onNote: (n) => notes.push(n) })).exported).toBe(true);
    expect(notes).toEqual([`exporting ${log} again: the Parquet cache ${log}.idx.parquet.meta does not hold: the log changed since it was exported (change time differs)`]);
    // A Parquet file changed behind the cache's back is noticed.
    writeFileSync(a.summary, 'not parquet');
    expect((await parquetOf(log, { quiet: true, onNote: (n) => notes.push(n) })).exported).toBe(true);
    expect(notes[1]).toBe(`exporting ${log} again: the Parquet cache ${log}.idx.parquet.meta does not hold: its summary file changed since it was written`);
  });

  it("the README's queries: tracked pages per user over time, top gfns by writes; a bad SQL is one line, exit 2", async () => {
    const files = await parquetOf(demo, { quiet: true });
    const perUser = await runQuery(files, "SELECT cmd, u.key AS \"user\", u.value AS units FROM summary, unnest(map_entries(by_user)) AS t(u) WHERE u.value <> 0 ORDER BY cmd, \"user\"");
    const want: unknown[][] = [];
    for (const [c, s] of logs.demo!.byCmd) for (const [u, n] of [...s.trackedByUser].sort((x, y) => (x[0] < y[0] ? -1 : 1))) want.push([c, u, n]);
    expect(perUser.rows).toEqual(want);
    expect(perUser.rows.length).toBeGreaterThan(0);
    const top = await runQuery(files, "SELECT addr_space, gfn, count(*) AS writes FROM events WHERE type = 'write' GROUP BY ALL ORDER BY writes DESC, gfn LIMIT 3");
    const w = new Map<string, number>();
    for (const e of logs.demo!.events) if (e.type === 'write') w.set(`${e.as}:${Math.floor(e.gpa / 4096)}`, (w.get(`${e.as}:${Math.floor(e.gpa / 4096)}`) ?? 0) + 1);
    const wantTop = [...w].sort((a, b) => b[1] - a[1] || Number(a[0].split(':')[1]) - Number(b[0].split(':')[1])).slice(0, 3).map(([k, n]) => [Number(k.split(':')[0]), Number(k.split(':')[1]), n]);
    expect(top.rows).toEqual(wantTop);
    const bad = await runQuery(files, 'SELEC 1').catch((e: unknown) => e);
    expect(describeError(bad)).toEqual({ message: 'SQL: Parser Error: syntax error at or near "SELEC"', code: 2 });
    // The SQL sees the two tables and nothing else of the machine.
    const outside = await runQuery(files, "SELECT * FROM read_csv('/etc/passwd')").catch((e: unknown) => e);
    expect(describeError(outside)).toEqual({ message: 'SQL: Permission Error: Cannot access file "/etc/passwd" - file system operations are disabled by configuration', code: 2 });
    const write = await runQuery(files, `COPY (SELECT 1) TO '${join(dir, 'x.csv')}'`).catch((e: unknown) => e);
    expect(describeError(write).message).toBe(`SQL: Permission Error: Cannot access file "${join(dir, 'x.csv')}" - file system operations are disabled by configuration`);
    const missing = await runQuery(files, 'SELECT nope FROM events').catch((e: unknown) => e);
    expect(describeError(missing)).toEqual({ message: 'SQL: Binder Error: Referenced column "nope" not found in FROM clause!', code: 2 });
  });
});

interface TraceEvent {
  ph: string;
  name?: string;
  pid?: number;
  tid?: number;
  ts?: number;
  dur?: number;
  s?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

/** The trace-event format's rules (Chrome's "Trace Event Format" document) for the phases we write. */
function checkTrace(text: string): TraceEvent[] {
  const doc = JSON.parse(text) as { traceEvents: TraceEvent[]; displayTimeUnit: string };
  expect(doc.displayTimeUnit).toBe('ns');
  const lastTs = new Map<string, number>();
  for (const e of doc.traceEvents) {
    expect(['M', 'C', 'i', 'X']).toContain(e.ph);
    expect(typeof e.name).toBe('string');
    expect(Number.isInteger(e.pid)).toBe(true);
    if (e.ph === 'M') {
      expect(['process_name', 'thread_name', 'thread_sort_index']).toContain(e.name);
      expect(typeof e.args).toBe('object');
      continue;
    }
    expect(typeof e.ts).toBe('number');
    expect(e.ts!).toBeGreaterThanOrEqual(0);
    if (e.ph === 'C') for (const v of Object.values(e.args!)) expect(typeof v).toBe('number');
    if (e.ph === 'i') expect(['g', 'p', 't']).toContain(e.s);
    if (e.ph === 'X') expect(typeof e.dur === 'number' && e.dur >= 0).toBe(true);
    if (e.ph !== 'C') expect(Number.isInteger(e.tid)).toBe(true);
    // Timestamps never go back on a track (a counter's track is its name; others their thread).
    const track = e.ph === 'C' ? `C:${e.name}` : `T:${e.tid}`;
    expect(e.ts!).toBeGreaterThanOrEqual(lastTs.get(track) ?? 0);
    lastTs.set(track, e.ts!);
  }
  return doc.traceEvents;
}

/** The value each counter track ends with. */
function finalCounters(trace: TraceEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of trace) if (e.ph === 'C') m.set(e.name!, e.args!.value as number);
  return m;
}

describe.each(['demo', 'sim'])('Perfetto trace read back (%s)', (name) => {
  it('follows the trace-event rules; one X slice per command; instants and counters match the log and the audit', async () => {
    const log = name === 'demo' ? demo : sim;
    const out = join(dir, `${name}.trace.json`);
    const stats = await exportPerfetto(log, sinkFor(out, 'trace'), { quiet: true });
    const trace = checkTrace(readFileSync(out, 'utf8'));
    const { events, byCmd } = logs[name]!;
    expect(stats.clock).toBe('events');
    const slices = trace.filter((e) => e.ph === 'X');
    expect(slices.map((e) => e.args!.cmd)).toEqual([...byCmd.keys()]);
    for (const x of slices) {
      const mine = events.filter((e) => e.cmd === x.args!.cmd);
      // 1 event = 1 µs: the slice starts at its first event and lasts as many µs as it has events.
      expect([x.ts, x.dur, x.args!.events]).toEqual([mine[0]!.seq, mine.length, mine.length]);
      const c = mine.find((e) => e.type === 'command');
      if (c?.type === 'command') expect(x.name).toBe(c.command.op);
    }
    const count = (f: (e: PageTrackEvent) => boolean) => events.filter(f).length;
    const on = (tid: number) => trace.filter((e) => e.ph === 'i' && e.tid === tid);
    expect(on(2).length).toBe(count((e) => e.type === 'warn'));
    expect(on(3).length).toBe(count((e) => e.type === 'sp-zapped' || e.type === 'mmu-zapped-all'));
    expect(on(4).length).toBe(count((e) => e.type === 'tlb-flushed'));
    expect(on(2).map((e) => e.ts)).toEqual(events.filter((e) => e.type === 'warn').map((e) => e.seq));
    const auditor = new Auditor('linux-4.6'); // both logs' profile
    for (const e of events) auditor.see(e);
    const report = auditor.finish();
    expect(on(5).length).toBe(report.findings.length);
    expect(stats.findings).toBe(report.findings.length);
    expect(on(5).map((e) => [e.name, e.ts])).toEqual([...report.findings].sort((a, b) => a.position.event - b.position.event).map((f) => [`${f.class} ${f.severity}`, f.position.event]));
    const end = byCmd.get(events.at(-1)!.cmd)!;
    const fin = finalCounters(trace);
    expect([fin.get('tracked gfns'), fin.get('shadow pages'), fin.get('write-protected SPTEs')]).toEqual([end.tracked, end.shadowPages, end.writeProtected]);
    for (const [u, n] of end.trackedByUser) expect(fin.get(`units held by ${u}`)).toBe(n);
    for (const [k, n] of end.trackedBySlot) expect(fin.get(`tracked gfns as${Math.floor(k / 1024)}/slot${k % 1024}`)).toBe(n);
  });
});

describe('windows: --from / --to', () => {
  it('CSV of (c5, c9]: the same rows with and without an index; summary rows start from the state at c5', async () => {
    const log = join(dir, 'w.log.ndjson');
    copyFileSync(sim, log);
    const { events, byCmd } = logs.sim!;
    const want = events.filter((e) => e.cmd > 5 && e.cmd <= 9).map((e) => String(e.seq));
    const a = join(dir, 'w-noindex.csv');
    await exportCsv(log, 'events', sinkFor(a, 'CSV'), { from: 'c5', to: 'c9', quiet: true });
    expect(parseCsv(readFileSync(a, 'utf8')).map((r) => r.seq)).toEqual(want);
    await openIndex(log, { interval: 500 });
    const b = join(dir, 'w-index.csv');
    await exportCsv(log, 'events', sinkFor(b, 'CSV'), { from: 'c5', to: 'c9', quiet: true });
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    // Deep into the log, through the index: the summary numbers carry the state from before the window.
    const mid = events[Math.floor(events.length * 0.7)]!.cmd;
    const s = join(dir, 'w-summary.csv');
    await exportCsv(log, 'summary', sinkFor(s, 'CSV'), { from: `c${mid}`, quiet: true });
    const rows = parseCsv(readFileSync(s, 'utf8'));
    expect(rows[0]!.cmd).toBe(String(mid + 1));
    for (const r of rows) expect(Number(r.tracked)).toBe(byCmd.get(Number(r.cmd))!.tracked);
    expect(rows.length).toBe([...byCmd.keys()].filter((c) => c > mid).length);
  });

  it('Perfetto from e<N> through the index without an audit: counters start at the state there', async () => {
    const log = join(dir, 'w.log.ndjson');
    const { events } = logs.sim!;
    const n = Math.floor(events.length / 2);
    const out = join(dir, 'w.trace.json');
    const stats = await exportPerfetto(log, sinkFor(out, 'trace'), { from: `e${n}`, to: `e${n + 300}`, findings: false, quiet: true });
    expect([stats.events, stats.findings]).toEqual([300, undefined]);
    const trace = checkTrace(readFileSync(out, 'utf8'));
    const state = new PageTrackState(getProfile('linux-4.6'));
    for (const e of events.slice(0, n)) state.apply(e);
    const first = trace.filter((e) => e.ph === 'C' && e.ts === n + 1);
    expect(first.find((e) => e.name === 'tracked gfns')!.args!.value).toBe(scanSummary(state).tracked);
    expect(first.find((e) => e.name === 'shadow pages')!.args!.value).toBe(scanSummary(state).shadowPages);
    expect(trace.filter((e) => e.ph === 'X')[0]!.ts).toBe(n + 1);
  });

  it('errors name the position and the log; nothing is written', async () => {
    const out = join(dir, 'never.csv');
    const fail = async (o: Parameters<typeof runExport>[1]) => describeError(await runExport(demo, o).then(() => undefined, (e: unknown) => e));
    expect(await fail({ format: 'csv', out, from: 'e99' })).toEqual({ message: `e99 is beyond the end: ${demo} has 62 events`, code: 2 });
    expect(await fail({ format: 'csv', out, to: 'c40' })).toEqual({ message: `c40 is beyond the end: the last command of ${demo} is c14`, code: 2 });
    expect(await fail({ format: 'csv', out, from: 'c5', to: 'c3' })).toEqual({ message: '--to c3 is before --from c5', code: 2 });
    expect(await fail({ format: 'csv', out, from: 'c5', to: 'e3' })).toEqual({ message: '--to e3 is before --from c5', code: 2 });
    expect(await fail({ format: 'csv', out, from: 'x7' })).toEqual({ message: "'x7' is not a position: write e<N> (after event N), c<K> (after command K), t<SECONDS> (a trace timestamp), start or end", code: 2 });
    expect(await fail({ format: 'parquet', out: '-' })).toEqual({ message: '--out -: Parquet cannot be streamed to standard output (its footer is written last); give a file', code: 2 });
    expect(await fail({ format: 'perfetto', out, what: 'summary' })).toEqual({ message: '--what is for csv and parquet; a perfetto trace holds events, commands and counters together', code: 2 });
    expect(existsSync(out)).toBe(false);
    expect(describeError(await runExport(join(dir, 'nope.log.ndjson'), { format: 'csv', out: join(dir, 'nope.csv') }).catch((e: unknown) => e)).code).toBe(2);
    expect(existsSync(join(dir, 'nope.csv'))).toBe(false);
  });

  it('--out - streams to standard output', async () => {
    const pass = new PassThrough();
    const chunks: Buffer[] = [];
    pass.on('data', (c: Buffer) => chunks.push(c));
    const r = await exportCsv(demo, 'summary', new StdoutSink(pass), { quiet: true });
    const rows = parseCsv(Buffer.concat(chunks).toString('utf8'));
    expect([r.rows, rows.length]).toEqual([logs.demo!.byCmd.size, logs.demo!.byCmd.size]);
  });
});

describe('hostile names survive every format', () => {
  it('a user and node named with commas, quotes, a line break and non-ASCII read back exactly from CSV, Parquet and the trace', async () => {
    const weird = 'vgpu,"0"\nü€';
    const log = join(dir, 'weird.log.ndjson');
    const writer = LogWriter.create(log, 'linux-4.19');
    const vm = new PageTrackVm({ profile: getProfile('linux-4.19'), log: writer, tdp: true, externalWriteTracking: true });
    for (const c of [
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 4096, flags: 0, uaddr: 0 },
      { op: 'notifier-register', node: weird },
      { op: 'track-add', user: weird, as: 0, gfn: 7 },
    ]) {
      const p = parseCommand(c);
      if (!p.ok) throw new Error(p.reason);
      expect(vm.execute(p.command).ok).toBe(true);
    }
    await writer.close();
    const csv = join(dir, 'weird.csv');
    await exportCsv(log, 'events', sinkFor(csv, 'CSV'), { quiet: true });
    const rows = parseCsv(readFileSync(csv, 'utf8'));
    expect(rows.filter((r) => r.type === 'track-count-step').map((r) => r.user)).toEqual([weird]);
    expect(rows.filter((r) => r.type === 'notifier-registered').map((r) => r.node)).toEqual(['kvm-mmu', weird]);
    const pq = join(dir, 'weird.parquet');
    const sm = join(dir, 'weird.summary.parquet');
    await exportParquet(log, { events: pq, summary: sm }, { quiet: true });
    expect(await sql(`SELECT "user", command_user FROM (SELECT "user", (detail::JSON->'command'->>'user') AS command_user FROM '${pq}' WHERE type = 'command' AND detail LIKE '%track-add%')`)).toEqual([{ user: weird, command_user: weird }]);
    expect(await sql(`SELECT by_user[${`'${weird.replace(/'/g, "''")}'`}] AS n FROM '${sm}' ORDER BY cmd DESC LIMIT 1`)).toEqual([{ n: '1' }]);
    const out = join(dir, 'weird.trace.json');
    await exportPerfetto(log, sinkFor(out, 'trace'), { quiet: true });
    const trace = checkTrace(readFileSync(out, 'utf8'));
    expect(finalCounters(trace).get(`units held by ${weird}`)).toBe(1);
  });
});

describe('standard output closed by its reader', () => {
  it('an EPIPE stops the export with OutputClosed (the CLI then exits 0, as `| head` expects)', async () => {
    const gone = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const err = await exportCsv(sim, 'events', new StdoutSink(gone), { quiet: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputClosed);
  });
});

describe('Perfetto of an ingested log keeps the trace clock', () => {
  it('a command starts at its trace line timestamp; its events follow 1 ns apart', async () => {
    const root = { gen: 0, gfn: 1, level: 4, gpteBytes: 8 as const, quadrant: 0, direct: false, access: 7, invalid: false, nxe: true, ad: true, rootCount: 0, unsync: false, smm: 0 };
    const lines = [
      tracefsLine('guest-runner', 500, 0, '100.000001', 'tracing_mark_write', 'pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}'),
      tracefsLine('guest-runner', 500, 0, '100.000250', 'kvm_mmu_get_page', kernelSp({ ...root, created: true }, '6.x')),
      tracefsLine('guest-runner', 500, 0, '100.500000', 'kvm_mmu_prepare_zap_page', kernelSp({ ...root, rootCount: 1 }, '6.x')),
    ];
    const trace = join(dir, 'host.trace');
    writeFileSync(trace, `# tracer: nop\n${lines.join('\n')}\n`);
    const log = join(dir, 'host.log.ndjson');
    await ingest({ profile: LINUX_6_9, input: trace, out: () => log, created: '2026-01-01T00:00:00.000Z' });
    const out = join(dir, 'host.trace.json');
    const stats = await exportPerfetto(log, sinkFor(out, 'trace'), { quiet: true });
    expect(stats.clock).toBe('trace');
    const t = checkTrace(readFileSync(out, 'utf8'));
    const { events } = await readAllEvents(log);
    const cmds = events.filter((e) => e.type === 'command');
    const slices = t.filter((e) => e.ph === 'X');
    expect(slices.map((x) => x.name)).toEqual(['VM creation', ...cmds.map((c) => (c.type === 'command' ? c.command.op : ''))]);
    // VM creation has no timestamp: its events end just before the first command's.
    expect(slices.slice(1).map((x) => x.ts)).toEqual([100000001, 100000250, 100500000]);
    expect(slices[0]!.ts! + slices[0]!.dur!).toBe(100000001);
    expect(slices[1]!.dur).toBe(249);
    const zap = t.find((e) => e.ph === 'i' && e.name === 'sp-zapped')!;
    const zapEvent = events.find((e) => e.type === 'sp-zapped')!;
    const first = events.find((e) => e.cmd === zapEvent.cmd)!;
    expect(zap.ts).toBeCloseTo(100500000 + (zapEvent.seq - first.seq) / 1000, 6);
  });
});
