import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'pagetrack.js');
const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1764000000' } });

describe('pagetrack CLI', () => {
  let dir: string;
  beforeAll(() => {
    // The CLI runs from dist/: build it once (npm ci does this through `prepare`).
    dir = mkdtempSync(join(tmpdir(), 'pagetrack-cli-'));
  });

  it('run: reports each result and writes the log (header + one line per event)', () => {
    const log = join(dir, 'demo.log.ndjson');
    const r = run('run', join(EXAMPLES, 'demo.ndjson'), '--log', log);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[6]).toBe('c7     is-active           true  (2 events)');
    expect(lines[11]).toBe('c12    track-remove        ok  WARN gfn-track-underflow, lpage-negative, lpage-negative  (6 events)');
    expect(lines.at(-1)).toBe(`14 commands, 62 events, 0 rejected; log: ${log}`);
    const logLines = readFileSync(log, 'utf8').trim().split('\n');
    expect(JSON.parse(logLines[0]!)).toEqual({ format: 'pagetrack-log', version: 1, profile: 'linux-4.6', created: '2025-11-24T16:00:00.000Z' });
    expect(logLines).toHaveLength(63);
  });

  it('run: every bad line is reported with file, line, field and reason; the run carries on and exits 1', () => {
    const file = join(EXAMPLES, 'rejections.ndjson');
    const r = run('run', file, '--quiet');
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      `c2     ?                   REJECTED ${file}:4: malformed JSON (Expected ',' or '}' after property value in JSON at position 47)`,
      `c3     ?                   REJECTED ${file}:5: field 'op': unknown command "track-addd" (one of: memslot-create, memslot-delete, memslot-move, memslot-flags, track-add, track-remove, is-active, sp-create, sp-zap, sp-use, fault, write, notifier-register, notifier-unregister, zap-all, vm-destroy, spte-set, mark)`,
      `c4     track-add           REJECTED ${file}:6: field 'user': is missing`,
    ]);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('7 commands, 11 events, 6 rejected');
  });

  it('run --profile linux-4.19: the log names its profile and reads back under it', () => {
    const script = join(dir, 'del.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}\n{"op":"notifier-register","node":"vgpu"}\n{"op":"memslot-delete","as":0,"slot":0}\n');
    const log = join(dir, 'p419.log');
    expect(run('run', script, '--log', log, '--profile', 'linux-4.19', '--quiet').status).toBe(0);
    expect(JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!).profile).toBe('linux-4.19');
    const s = JSON.parse(run('state', log, '--json').stdout);
    expect([s.profile, s.slotFlushes, s.slots]).toEqual(['linux-4.19', 2, []]);
    expect(run('run', script, '--profile', 'linux-9').stderr).toBe("pagetrack: unknown kernel profile 'linux-9' (known: linux-4.6, linux-4.19, linux-5.7, linux-5.16, linux-6.1, linux-6.6, linux-6.8, linux-6.9)\n");
  });

  it('run: a clean script exits 0', () => {
    const script = join(dir, 'ok.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}\n{"op":"track-add","user":"u","as":0,"gfn":3}\n');
    const r = run('run', script, '--quiet');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('2 commands, 9 events, 0 rejected\n');
  });

  it('state --json after a command and after an event', () => {
    const log = join(dir, 'demo.log.ndjson');
    run('run', join(EXAMPLES, 'demo.ndjson'), '--log', log);
    const s = JSON.parse(run('state', log, '--json', '--command', '9').stdout);
    expect(s.position).toEqual({ event: 35, command: 9 });
    expect(s.slots[0].track.write).toEqual([[0x1234, 2, { 'kvm-mmu': 1, vgpu0: 1 }]]); // [gfn, count, each user's share]
    expect(s.slots[0].disallowLpage['2']).toEqual({ entries: 1024, nonzero: [[9, 0x1200, 2]] });
    expect(s.notifiers).toEqual(['vgpu0', 'kvm-mmu']);
    expect(s.shadowPages).toEqual([{ sp: 1, as: 0, gfn: 0x1234, level: 2, direct: false, flood: 0 }]);
    expect(s.sptes).toEqual([{ as: 0, level: 3, gfn: 0, writable: false }]);
    expect(s.tlbFlushes).toBe(1);
    expect(s.notifications).toBe(2);
    expect(s.warns).toEqual({ 'invalid-mode': 0, 'gfn-track-overflow': 0, 'gfn-track-underflow': 0, 'lpage-negative': 0, 'lpage-mixed-flag-flip': 0, 'write-tracking-disabled': 0, 'kvm-bug': 0 });
    const end = JSON.parse(run('state', log, '--json').stdout);
    expect(end.position).toEqual({ event: 62, command: 14 });
    expect(end.warns).toEqual({ 'invalid-mode': 0, 'gfn-track-overflow': 0, 'gfn-track-underflow': 2, 'lpage-negative': 4, 'lpage-mixed-flag-flip': 0, 'write-tracking-disabled': 0, 'kvm-bug': 0 });
    expect(end.slots.map((x: { as: number }) => x.as)).toEqual([1]);
    expect(JSON.parse(run('state', log, '--json', '--event', '2').stdout).notifiers).toEqual(['kvm-mmu']);
  });

  it('state: readable tables by default; past-the-end positions and bad files get exact errors', () => {
    const log = join(dir, 'demo.log.ndjson');
    run('run', join(EXAMPLES, 'demo.ndjson'), '--log', log);
    const t = run('state', log, '--command', '9');
    expect(t.stdout).toContain('notifier dispatch order: vgpu0 -> kvm-mmu');
    expect(t.stdout).toContain('│ 0  │ 0    │ write │ 0x1234 │ 2     │ kvm-mmu 1, vgpu0 1 │');
    const past = run('state', log, '--event', '999');
    expect(past.status).toBe(2);
    expect(past.stderr).toBe(`pagetrack: --event 999 is past the end of ${log}, which has 62 events\n`);
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, '{"format":"pagetrack-log","version":1,"profile":"linux-4.6","created":"2026-01-01T00:00:00.000Z"}\n{"seq":1,\n');
    const b = run('state', bad);
    expect(b.status).toBe(2);
    expect(b.stderr).toBe(`pagetrack: ${bad}:2: field 'prev': an event line must start with ["<43-character hash>",\n`);
  });
});
