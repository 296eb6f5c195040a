/**
 * The fleet (README, "A fleet of hosts"; issue #17) against a real 3-node nats-server cluster
 * with JetStream: publish, resume and dedup; an audit group sharing VMs; and the failure cases:
 * a node killed while publishing and while auditing, a publisher killed mid-log, a consumer
 * killed mid-VM, the whole cluster restarted, a forged and a reordered message.
 * Child processes run the built CLI (bin/pagetrack.js) so that they can be killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLog } from '../src/cli/audit-command.js';
import { conforms } from './json-schema-check.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../src/audit/auditor.js';
import { LogReader } from '../src/log/reader.js';
import { LogWriter } from '../src/log/writer.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { type InjectedBug, WORKLOADS, workloadProfile } from '../src/workloads/index.js';
import { hashLine } from '../src/log/format.js';
import { AuditGroupMember, natsAudit } from '../src/fleet/consume.js';
import { fleetSummary, natsMaterialize } from '../src/fleet/fleet.js';
import { publishLog } from '../src/fleet/publish.js';
import { connectFleet, ensureAuditStreams, type Fleet } from '../src/fleet/stream.js';
import { parseVmId, parseVmPattern } from '../src/fleet/subjects.js';
import { readRecord } from '../src/fleet/audit-record.js';
import { retrying } from '../src/fleet/retry.js';
import { nodeIndex, natsServerMissing, startTestCluster, type TestCluster } from './nats-cluster.js';

const ROOT = join(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'bin', 'pagetrack.js');
const why = natsServerMissing();
if (why) console.log(`fleet tests skipped: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'pagetrack-fleet-'));
const logs: Record<string, string> = {};

/** A workload's log, written by the library (as `pagetrack simulate` writes it). */
async function simulate(name: string, workload: string, events: number, seed: number, inject?: InjectedBug): Promise<string> {
  const out = join(dir, `${name}.log.ndjson`);
  const w = WORKLOADS.find((x) => x.name === workload)!;
  const profile = workloadProfile(w, undefined);
  const writer = LogWriter.create(out, profile.name, '2025-12-01T00:00:00.000Z');
  const vm = new PageTrackVm({ profile, log: writer, ...w.vm });
  try {
    w.run(vm, { events, seed, ...(inject ? { inject } : {}) });
  } finally {
    await writer.close();
  }
  return out;
}

/** The file audit of a log, as `pagetrack audit LOG` makes it. */
const fileAudit = (path: string): Promise<AuditReport> => auditLog(path, true);

/** Every finding the group published for a VM, in stream order, without the `atEnd` mark of those finish() added. */
async function publishedFindings(f: Fleet, group: string, vm: string): Promise<Array<Record<string, unknown>>> {
  const all = await retrying('read the findings', 30_000, () => readFindings(f, group, vm)); // a node may just have died
  return all.map(({ atEnd: _end, ...rest }) => rest);
}

async function readFindings(f: Fleet, group: string, vm: string): Promise<Array<Record<string, unknown>>> {
  const subject = `pagetrack.findings.${group}.${vm.replace('/', '.')}`;
  const info = await f.jsm.streams.info(`${f.stream}_FINDINGS`, { subjects_filter: subject });
  const n = info.state.subjects?.[subject] ?? 0;
  const out: Array<Record<string, unknown>> = [];
  if (n === 0) return out;
  const c = await f.js.consumers.get(`${f.stream}_FINDINGS`, { filter_subjects: subject });
  const it = await c.consume();
  for await (const m of it) {
    out.push(m.json());
    if (out.length === n) break;
  }
  it.stop();
  return out;
}

/** The file audit's findings as they go over the wire, each with the VM and its index. */
const expectedFindings = (r: AuditReport, vm: string) => r.findings.map((f, index) => JSON.parse(JSON.stringify({ vm, index, ...f })) as Record<string, unknown>);

function child(args: string[]): { proc: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> } {
  const proc = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, out, err })));
  return { proc, done };
}

async function until(what: string, test: () => Promise<boolean>, ms = 20_000, c?: { proc: ChildProcess; done: Promise<{ err: string }> }): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (c && c.proc.exitCode !== null) throw new Error(`waiting for ${what}: the child exited ${c.proc.exitCode}: ${(await c.done).err}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Messages the log stream holds for a VM. */
async function messagesOf(f: Fleet, vm: string): Promise<number> {
  const subject = `pagetrack.log.${vm.replace('/', '.')}`;
  const info = await retrying('count messages', 30_000, () => f.jsm.streams.info(f.stream, { subjects_filter: subject }));
  return info.state.subjects?.[subject] ?? 0;
}

describe('fleet names (hostile input)', () => {
  it('HOST/VM names are single subject tokens; every refusal says what and why', () => {
    expect(parseVmId('host-1/vm_2')).toEqual({ host: 'host-1', vm: 'vm_2' });
    expect(() => parseVmId('node1.example.com/vm1')).toThrow(`--vm host 'node1.example.com' contains "." ('.' separates subject tokens)`);
    expect(() => parseVmId('h/*')).toThrow(`--vm VM '*' contains "*" ('*' is a NATS wildcard)`);
    expect(() => parseVmId('h/v m')).toThrow(`--vm VM 'v m' contains " " (whitespace ends a subject)`);
    expect(() => parseVmId('h/v/x')).toThrow(`--vm must be HOST/VM, got 'h/v/x'`);
    expect(() => parseVmId('/v')).toThrow(`--vm host '' is empty`);
    expect(() => parseVmId(`h/${'x'.repeat(65)}`)).toThrow(`is 65 characters long; at most 64`);
    expect(parseVmPattern('host1/*')).toEqual({ host: 'host1', vm: '*' });
    expect(parseVmPattern('*/*')).toEqual({ host: '*', vm: '*' });
    expect(() => parseVmPattern('>/x')).toThrow(`--vms host '>' contains ">" ('>' is a NATS wildcard)`);
  });
});

describe.skipIf(!!why)('fleet on a 3-node JetStream cluster', () => {
  let tc: TestCluster;
  let f: Fleet;
  const reports: Record<string, AuditReport> = {};

  beforeAll(async () => {
    tc = await startTestCluster(3);
    f = await connectFleet({ url: tc.url });
    logs.clean = await simulate('clean', 'shadow-mmu', 3000, 1);
    logs.unbalanced = await simulate('unbalanced', 'vgpu', 3000, 2, 'unbalanced-remove');
    logs.leak = await simulate('leak', 'vgpu', 3000, 3, 'leak-at-unregister');
    logs.late = await simulate('late', 'introspection', 3000, 4, 'late-registration');
    logs.big = await simulate('big', 'vgpu', 150_000, 5, 'unbalanced-remove');
    for (const [k, p] of Object.entries(logs)) reports[k] = await fileAudit(p);
  }, 60_000);

  afterAll(async () => {
    await f?.close();
    await tc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publish: the stream holds the log byte for byte (header first), a repeat is a no-op, a retried message id is dropped, a different log is refused', async () => {
    const r = await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'clean' }, log: logs.clean! });
    const events = reports.clean!.summary.events;
    expect(r).toMatchObject({ vm: 'h1/clean', published: events, skipped: 0, duplicates: 0, lastSeq: events });
    const info = await f.jsm.streams.info('PAGETRACK');
    expect(info.config).toMatchObject({ num_replicas: 3, subjects: ['pagetrack.log.>'], retention: 'limits', storage: 'file', discard: 'new', deny_delete: true, deny_purge: true, max_age: 0 });
    const first = await f.jsm.streams.getMessage('PAGETRACK', { seq: 1 });
    expect(Buffer.from(first!.data).toString()).toBe(readFileSync(logs.clean!, 'utf8').split('\n')[0] + '\n');
    const m = await natsMaterialize({ url: tc.url, vm: 'h1/clean' });
    expect(readFileSync(m.path).equals(readFileSync(logs.clean!))).toBe(true);
    rmSync(m.path);

    const again = await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'clean' }, log: logs.clean! });
    expect(again).toMatchObject({ published: 0, skipped: events, messages: 0, lastSeq: events, headHash: r.headHash });

    // A retried publish (same message id) whose first attempt landed: the server answers duplicate and stores nothing.
    const before = await messagesOf(f, 'h1/clean');
    const last = await f.jsm.streams.getMessage('PAGETRACK', { last_by_subj: 'pagetrack.log.h1.clean' });
    const body = Buffer.from(last!.data);
    const lastLine = body.subarray(body.lastIndexOf(10, body.length - 2) + 1, body.length - 1);
    const ack = await f.js.publish('pagetrack.log.h1.clean', body, { msgID: `h1/clean/${events}/${hashLine(lastLine)}` });
    expect(ack).toMatchObject({ duplicate: true, seq: last!.seq });
    expect(await messagesOf(f, 'h1/clean')).toBe(before);

    // Only the line the stream ends with is compared: its hash commits to every line before it.
    await expect(publishLog({ url: tc.url, vm: { host: 'h1', vm: 'clean' }, log: logs.leak! })).rejects.toThrow(`the stream holds a different log for h1/clean: its event ${events} (stream PAGETRACK message ${last!.seq}) is not line ${events + 1} of ${logs.leak}`);
  });

  it('publish resumes after what the stream holds: a shorter copy first, then the whole log publishes only the rest', async () => {
    const text = readFileSync(logs.leak!, 'utf8');
    const lines = text.split('\n');
    const part = join(dir, 'leak-part.log.ndjson');
    writeFileSync(part, lines.slice(0, 1001).join('\n') + '\n'); // header + 1000 events
    const a = await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'leak' }, log: part, messageBytes: 1 });
    expect(a).toMatchObject({ published: 1000, messages: 1001, lastSeq: 1000 });
    const b = await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'leak' }, log: logs.leak! });
    const events = reports.leak!.summary.events;
    expect(b).toMatchObject({ published: events - 1000, skipped: 1000, lastSeq: events });
    const m = await natsMaterialize({ url: tc.url, vm: 'h1/leak' });
    expect(readFileSync(m.path, 'utf8')).toBe(text);
    rmSync(m.path);
  });

  it('an audit group of 2 members shares the VMs: each VM audited once, in order, findings equal to the file audit, none twice', async () => {
    await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'unbalanced' }, log: logs.unbalanced! });
    await publishLog({ url: tc.url, vm: { host: 'h1', vm: 'late' }, log: logs.late! });
    const f2 = await connectFleet({ url: tc.url });
    try {
      await ensureAuditStreams(f);
      const a = new AuditGroupMember(f, { url: tc.url, vms: 'h1/*', group: 'g1', consumer: 'one' });
      const b = new AuditGroupMember(f2, { url: tc.url, vms: 'h1/*', group: 'g1', consumer: 'two' });
      const [ra, rb] = await Promise.all([a.run(), b.run()]);
      const all = [...ra.auditedHere, ...rb.auditedHere].sort();
      expect(all).toEqual(['h1/clean', 'h1/late', 'h1/leak', 'h1/unbalanced']);
      console.log(`group g1: one audited ${ra.auditedHere.join(' ')}, two audited ${rb.auditedHere.join(' ')}`);
      expect(ra.auditedHere.length).toBeGreaterThan(0);
      expect(rb.auditedHere.length).toBeGreaterThan(0);
      for (const k of ['clean', 'late', 'leak', 'unbalanced']) {
        const row = ra.vms.find((v) => v.vm === `h1/${k}`)!;
        const s = reports[k]!.summary;
        expect(row).toMatchObject({ events: s.events, audited: s.events, done: true, owner: null, profile: s.profile, findings: s.findings, findingsByClass: s.findingsByClass });
        expect(await publishedFindings(f, 'g1', `h1/${k}`)).toEqual(expectedFindings(reports[k]!, `h1/${k}`));
      }
      expect(reports.unbalanced!.summary.findingsByClass).toMatchObject({ B2: 1, B3: 1 });
      expect(reports.leak!.summary.findingsByClass).toMatchObject({ B11: 1 });

      // Run again: everything is done, nothing is audited or published twice.
      const again = await natsAudit({ url: tc.url, vms: 'h1/*', group: 'g1' });
      expect(again.auditedHere).toEqual([]);
      expect(await publishedFindings(f, 'g1', 'h1/unbalanced')).toHaveLength(reports.unbalanced!.findings.length);

      const fleet = await fleetSummary({ url: tc.url, group: 'g1' });
      expect(fleet.totals).toMatchObject({ hosts: 1, vms: 4, audited: 4, failed: 0 });
      expect(fleet.totals.events).toBe(['clean', 'late', 'leak', 'unbalanced'].reduce((n, k) => n + reports[k]!.summary.events, 0));
    } finally {
      await f2.close();
    }
  }, 30_000);

  it('a node killed while publishing and another while auditing: no event lost, none twice, the chain intact, findings as in the file', async () => {
    const vm = 'h2/big';
    const pub = child(['publish', logs.big!, '--nats', tc.url, '--vm', vm, '--message-bytes', '16384', '--json']);
    await until('the publisher to get going', async () => (await messagesOf(f, vm).catch(() => 0)) > 20, 20_000, pub);
    const leader = (await retrying('find the leader', 30_000, () => f.jsm.streams.info('PAGETRACK'))).cluster!.leader!;
    await tc.cluster.kill(nodeIndex(leader)); // the stream leader: publishes in flight are lost, an election follows
    const p = await pub.done;
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    const events = reports.big!.summary.events;
    expect(JSON.parse(p.out)).toMatchObject({ lastSeq: events });
    conforms('publish', JSON.parse(p.out));
    await tc.cluster.restart(nodeIndex(leader));

    const m = await natsMaterialize({ url: tc.url, vm });
    expect(readFileSync(m.path).equals(readFileSync(logs.big!))).toBe(true);
    rmSync(m.path);

    // The stream leader killed right after the audit's first checkpoint, with most of the VM still to read.
    let killed: Promise<string> | undefined;
    let atKill = 0;
    const r = await natsAudit({
      url: tc.url,
      vms: 'h2/*',
      group: 'g2',
      onCheckpoint: (_vm, audited) => {
        if (killed) return;
        atKill = audited;
        killed = retrying('find the leader', 30_000, () => f.jsm.streams.info('PAGETRACK')).then(async (i) => {
          await tc.cluster.kill(nodeIndex(i.cluster!.leader!)); // back in the whole-cluster restart below
          return i.cluster!.leader!;
        });
      },
    });
    console.log(`node ${await killed} killed when ${atKill} of ${events} events were audited`);
    expect(atKill).toBeLessThan(events / 2);
    expect(r.vms[0]).toMatchObject({ vm, events, audited: events, done: true, findings: reports.big!.summary.findings });
    expect(await publishedFindings(f, 'g2', vm)).toEqual(expectedFindings(reports.big!, vm));
  }, 60_000);

  it('a consumer killed mid-VM: another member takes the VM over when its lease ends; nothing lost, nothing published twice', async () => {
    const vm = 'h2/big';
    const c = child(['audit', '--nats', tc.url, '--vms', 'h2/*', '--group', 'g3', '--consumer', 'doomed', '--lease', '1', '--json']);
    await until('the doomed consumer to be mid-VM', async () => {
      const r = (await readRecord(f, 'g3', { host: 'h2', vm: 'big' }).catch(() => undefined))?.record;
      return !!r && r.audited > 0 && !r.done;
    }, 20_000, c);
    c.proc.kill('SIGKILL');
    await c.done;
    const mid = (await readRecord(f, 'g3', { host: 'h2', vm: 'big' }))!.record!;
    expect(mid).toMatchObject({ owner: 'doomed', done: false });
    expect(mid.audited).toBeLessThan(reports.big!.summary.events);
    const r = await natsAudit({ url: tc.url, vms: 'h2/*', group: 'g3', consumer: 'heir', leaseMs: 1000 });
    expect(r.takenOver).toEqual([vm]);
    expect(r.vms[0]).toMatchObject({ events: reports.big!.summary.events, done: true, findings: reports.big!.summary.findings, findingsByClass: reports.big!.summary.findingsByClass });
    expect(await publishedFindings(f, 'g3', vm)).toEqual(expectedFindings(reports.big!, vm));
  }, 60_000);

  it('a publisher killed mid-log and restarted goes on after the last event the stream holds', async () => {
    const vm = 'h3/unbalanced';
    const a = child(['publish', logs.unbalanced!, '--nats', tc.url, '--vm', vm, '--message-bytes', '1']);
    await until('the first publisher to be mid-log', async () => (await messagesOf(f, vm).catch(() => 0)) > 200, 20_000, a);
    a.proc.kill('SIGKILL');
    await a.done;
    const held = await messagesOf(f, vm);
    const events = reports.unbalanced!.summary.events;
    expect(held).toBeLessThan(events + 1);
    const b = child(['publish', logs.unbalanced!, '--nats', tc.url, '--vm', vm, '--json']);
    const done = await b.done;
    expect(done.code).toBe(0);
    expect(JSON.parse(done.out)).toMatchObject({ skipped: held - 1, published: events - (held - 1), lastSeq: events });
    const m = await natsMaterialize({ url: tc.url, vm });
    expect(readFileSync(m.path).equals(readFileSync(logs.unbalanced!))).toBe(true);
    rmSync(m.path);
  }, 30_000);

  it('the whole cluster restarted: the streams, the records and the chain are intact, and publishing and auditing go on', async () => {
    await tc.cluster.restartAll();
    const again = await publishLog({ url: tc.url, vm: { host: 'h3', vm: 'unbalanced' }, log: logs.unbalanced! });
    expect(again).toMatchObject({ published: 0, skipped: reports.unbalanced!.summary.events });
    const r = await natsAudit({ url: tc.url, vms: 'h3/*', group: 'g1' });
    expect(r.vms[0]).toMatchObject({ done: true, findings: reports.unbalanced!.summary.findings });
    const s = await fleetSummary({ url: tc.url, group: 'g1', vms: 'h1/*' });
    expect(s.totals).toMatchObject({ vms: 4, audited: 4 });
    expect(await publishedFindings(f, 'g1', 'h1/unbalanced')).toEqual(expectedFindings(reports.unbalanced!, 'h1/unbalanced'));
  }, 120_000); // a restart can take waitReady its full minute (dev-cluster.ts)

  it('publish --follow publishes a log as it grows (whole lines only) until interrupted', async () => {
    const text = readFileSync(logs.late!, 'utf8');
    const growing = join(dir, 'growing.log.ndjson');
    const cut = (n: number) => text.split('\n').slice(0, n).join('\n').length + 1;
    writeFileSync(growing, text.slice(0, cut(501))); // header + 500 events
    const c = child(['publish', growing, '--nats', tc.url, '--vm', 'h5/late', '--follow', '--json']);
    const tail = async () => (await f.jsm.streams.getMessage('PAGETRACK', { last_by_subj: 'pagetrack.log.h5.late' }).catch(() => null))?.data;
    const lastSeqIs = (n: number) => async () => {
      const d = await tail();
      return !!d && Buffer.from(d).toString().trimEnd().split('\n').at(-1)!.includes(`",${n},`);
    };
    await until('the first 500 events', lastSeqIs(500), 20_000, c);
    // A writer mid-line: the cut-off line waits until it is whole.
    const { appendFileSync } = await import('node:fs');
    appendFileSync(growing, text.slice(cut(501), cut(1001) + 20));
    await until('events up to 1000', lastSeqIs(1000), 20_000, c);
    appendFileSync(growing, text.slice(cut(1001) + 20));
    const events = reports.late!.summary.events;
    await until('every event', lastSeqIs(events), 20_000, c);
    c.proc.kill('SIGTERM');
    const d = await c.done;
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out)).toMatchObject({ vm: 'h5/late', published: events, lastSeq: events });
    const m = await natsMaterialize({ url: tc.url, vm: 'h5/late' });
    expect(readFileSync(m.path, 'utf8')).toBe(text);
    rmSync(m.path);
  }, 30_000);

  it('a forged and a reordered message are caught by the chain, as in a file, naming the line and the stream message', async () => {
    const lines = readFileSync(logs.clean!, 'utf8').split('\n').slice(0, 41).map((l) => `${l}\n`);
    // Forged: one event's last number changed in place (its own prev still right).
    const idx = lines.findIndex((l, i) => i >= 15 && /,(\d+)\]\n$/.test(l));
    const forged = [...lines];
    forged[idx] = forged[idx]!.replace(/,(\d+)\]\n$/, (_m, n: string) => `,${Number(n) + 1}]\n`);
    expect(forged[idx]).not.toBe(lines[idx]);
    const first = (await f.js.publish('pagetrack.log.h4.forged', forged[0]!)).seq;
    for (const l of forged.slice(1)) await f.js.publish('pagetrack.log.h4.forged', l);
    // What the file reader says of the same lines in a file: the stream must say the same.
    const asFile = async (ls: string[]): Promise<string> => {
      const p = join(dir, 'bad.log.ndjson');
      writeFileSync(p, ls.join(''));
      try {
        for await (const b of new LogReader(p).batches()) void b;
      } catch (err) {
        return (err as Error).message.slice(p.length);
      }
      return 'no error';
    };
    const forgedInFile = await asFile(forged);
    expect(forgedInFile).toMatch(/^:\d+: /);
    // Reordered: events 10 and 11 swapped.
    const re = [...lines];
    [re[10], re[11]] = [re[11]!, re[10]!];
    for (const l of re) await f.js.publish('pagetrack.log.h4.reordered', l);
    const r = await natsAudit({ url: tc.url, vms: 'h4/*', group: 'g4' });
    const forgedRow = r.vms.find((v) => v.vm === 'h4/forged')!;
    const reRow = r.vms.find((v) => v.vm === 'h4/reordered')!;
    const badLine = Number(/^:(\d+):/.exec(forgedInFile)![1]);
    expect(forgedRow.error).toBe(`nats h4/forged${forgedInFile} (stream PAGETRACK message ${first + badLine - 1})`);
    expect(reRow.error).toBe(`nats h4/reordered${await asFile(re)} (stream PAGETRACK message ${first + lines.length + 10})`);
    expect(reRow.error).toMatch(/^nats h4\/reordered:11: field 'seq': /);
    expect(forgedRow.done).toBe(false);
    await expect(natsMaterialize({ url: tc.url, vm: 'h4/reordered' })).rejects.toThrow(reRow.error!);
    // The CLI: exit 2, the error on the row.
    const c = child(['audit', '--nats', tc.url, '--vms', 'h4/forged', '--group', 'g4']);
    const d = await c.done;
    expect(d.code).toBe(2);
    expect(d.out).toContain(`h4/forged: nats h4/forged${forgedInFile}`);
  }, 30_000);

  it('a VM whose log grows between audits: the findings that held only at the old end are marked atEnd, and the grown log\'s audit adds exactly its own (none lost, none stale); a forged record or log message is that VM\'s row', async () => {
    const demo = readFileSync(join(ROOT, 'examples', 'demo.log.ndjson'), 'utf8').split('\n').slice(0, -1);
    const part = join(dir, 'demo-part.log.ndjson');
    writeFileSync(part, demo.slice(0, 30).join('\n') + '\n'); // header + 29 events: a cut before an emulated write's delivery is closed (B10 at that end)
    await publishLog({ url: tc.url, vm: { host: 'h6', vm: 'grow' }, log: part });
    await natsAudit({ url: tc.url, vms: 'h6/*', group: 'g6' });
    const full = join(dir, 'demo-full.log.ndjson');
    writeFileSync(full, demo.join('\n') + '\n');
    await publishLog({ url: tc.url, vm: { host: 'h6', vm: 'grow' }, log: full });
    const r = await natsAudit({ url: tc.url, vms: 'h6/*', group: 'g6' });
    const want = await fileAudit(full);
    expect(r.vms[0]).toMatchObject({ vm: 'h6/grow', done: true, findings: want.summary.findings });
    const all = await readFindings(f, 'g6', 'h6/grow');
    const tail = Math.max(...all.map((x) => (typeof x.atEnd === 'number' ? x.atEnd : 0)));
    // The stable findings, then those of the log's present end: the file audit's list.
    const now = all.filter((x) => x.atEnd === undefined || x.atEnd === tail).map(({ atEnd: _e, ...x }) => x);
    expect(now.sort((a, b) => Number(a.index) - Number(b.index))).toEqual(expectedFindings(want, 'h6/grow'));
    expect(all.some((x) => typeof x.atEnd === 'number' && x.atEnd < tail)).toBe(true); // the old end's B10, kept as what held there

    // A forged record and a forged log message: rows of their VMs; the others are audited.
    await f.js.publish('pagetrack.audit.g6.h6.grow', JSON.stringify({ owner: null, until: 0, audited: 9, published: 0, streamSeq: 999999, done: true, at: 1, findings: { error: 'lots' }, findingsByClass: 'B1B1' }));
    await f.js.publish('pagetrack.log.h6.bad', 'garbage');
    const s = await fleetSummary({ url: tc.url, vms: 'h6/*', group: 'g6' });
    expect(s.vms.map((v) => [v.vm, v.error?.replace(/message \d+/g, 'message N')])).toEqual([
      ['h6/bad', 'nats h6/bad (stream PAGETRACK message N):0: a message must hold whole lines, each ended by "\\n"'],
      ['h6/grow', 'audit record of h6/grow (stream PAGETRACK_AUDIT message N): not an audit record pagetrack wrote'],
    ]);
    const again = await natsAudit({ url: tc.url, vms: 'h6/grow', group: 'g6' });
    expect(again.vms[0]).toMatchObject({ vm: 'h6/grow', done: true, findings: want.summary.findings });
  }, 60_000);

  it('the CLI: state, why and history --nats --vm answer as on the file; audit --nats, fleet and publish --json conform to their schemas', async () => {
    const cli = async (...args: string[]) => {
      const d = await child(args).done;
      expect([d.code, d.err], args.join(' ')).toEqual([0, '']);
      return JSON.parse(d.out) as Record<string, unknown>;
    };
    const nats = ['--nats', tc.url, '--vm', 'h1/leak'];
    expect(await cli('state', ...nats, '--at', 'c100', '--json', '--quiet')).toEqual(await cli('state', logs.leak!, '--at', 'c100', '--json', '--quiet'));
    const gfn = String(reports.leak!.summary.topGfns[0]![1]);
    expect(await cli('history', ...nats, '--gfn', gfn, '--json', '--quiet')).toEqual(await cli('history', logs.leak!, '--gfn', gfn, '--json', '--quiet'));
    expect(await cli('why', ...nats, '--gfn', gfn, '--at', 'end', '--json', '--quiet')).toEqual(await cli('why', logs.leak!, '--gfn', gfn, '--at', 'end', '--json', '--quiet'));
    const both = await child(['state', logs.leak!, ...nats]).done;
    expect([both.code, both.err]).toEqual([2, `pagetrack: give a log or --nats, not both (got ${logs.leak} and --nats ${tc.url})\n`]);
    const audit = await child(['audit', '--nats', tc.url, '--vms', 'h1/*', '--group', 'g5', '--json']).done;
    expect(audit.code).toBe(1); // the leak and the unbalanced remove are errors
    conforms('audit', JSON.parse(audit.out));
    conforms('fleet', await cli('fleet', '--nats', tc.url, '--group', 'g5', '--json'));
    conforms('publish', await cli('publish', logs.clean!, '--nats', tc.url, '--vm', 'h1/clean', '--json'));
  }, 60_000);
});
