/**
 * Issue 15: `state` answers with a summary first and a screenful of rows, narrowed by filters
 * that mean the same in text and JSON; the track table names each user's share of a count
 * (holders, a projection whose sum is the count: B1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
let dir: string;
let log: string;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-state-view-'));
  // 30 tracked gfns (0x100..0x11d), two users on the first 5, writable SPTEs on 25
  const lines = ['{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":4096}', '{"op":"memslot-create","as":0,"slot":1,"base":8192,"npages":512}'];
  for (let g = 0x100; g < 0x11e; g++) lines.push(`{"op":"track-add","user":"vgpu0","as":0,"gfn":${g}}`);
  for (let g = 0x100; g < 0x105; g++) lines.push(`{"op":"track-add","user":"kvmi","as":0,"gfn":${g}}`, `{"op":"track-add","user":"kvmi","as":0,"gfn":${g}}`);
  for (let g = 0x200; g < 0x219; g++) lines.push(`{"op":"spte-set","as":0,"gfn":${g},"level":1,"writable":true}`);
  const script = join(dir, 's.ndjson');
  writeFileSync(script, `${lines.join('\n')}\n`);
  log = join(dir, 's.log.ndjson');
  const r = cli('run', script, '--log', log, '--profile', 'linux-4.6', '--quiet');
  expect(r.stderr).toBe('');
});

describe('state: summary first, a screenful of rows, filters shared by text and JSON', () => {
  it('leads with a summary; each table shows 20 rows and says how many it left out', () => {
    const r = cli('state', log);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'profile linux-4.6, after event e219 (command c67)',
      '  2 slots; 30 tracked gfns; 3 nonzero disallow_lpage; 25 SPTEs (25 writable); 0 shadow pages (0 indirect in the VM)',
      '  WARNs: none; TLB flushes 0; notifications 0',
      '  notifier dispatch order: kvm-mmu',
      '  user balances (adds - removes): kvmi 10, vgpu0 30',
    ]);
    expect(r.stdout).toContain('track counts (nonzero), with each user\'s share (30)');
    expect(r.stdout).toContain('│ 0  │ 0    │ write │ 0x100 │ 3     │ kvmi 2, vgpu0 1 │');
    expect(r.stdout).toContain('│ 0  │ 0    │ write │ 0x105 │ 1     │ vgpu0 1         │');
    expect(r.stdout.match(/ {2}\.\.\. 10 more/g)).toHaveLength(1); // the track table: 30 rows, 20 shown
    expect(r.stdout.match(/ {2}\.\.\. 5 more/g)).toHaveLength(1); // the SPTEs: 25 rows
    expect(r.stdout).toContain('(each table shows 20 rows: --limit N or --all for more; --gfn G|A-B, --slot N, --as N, --type slots,track,lpage,spte,sp to narrow)');
    expect(cli('state', log, '--all').stdout).not.toContain('more');
    expect(cli('state', log, '--limit', '2', '--type', 'track').stdout.split('\n').filter((l) => l.startsWith('│ 0'))).toHaveLength(2);
  });

  it('--gfn (one or a range), --slot, --as and --type narrow text and JSON alike; --limit cuts JSON only when given', () => {
    const t = cli('state', log, '--gfn', '0x103-0x104', '--type', 'track');
    expect(t.stdout.split('\n')[0]).toMatch(/; showing gfns 0x103-0x104$/);
    expect(t.stdout.split('\n').filter((l) => l.startsWith('│ 0'))).toEqual(['│ 0  │ 0    │ write │ 0x103 │ 3     │ kvmi 2, vgpu0 1 │', '│ 0  │ 0    │ write │ 0x104 │ 3     │ kvmi 2, vgpu0 1 │']);
    const j = JSON.parse(cli('state', log, '--gfn', '0x103-0x104', '--type', 'track', '--json').stdout);
    expect(j.slots.map((s: { slot: number; track: unknown }) => [s.slot, s.track])).toEqual([
      [0, { write: [[0x103, 3, { kvmi: 2, vgpu0: 1 }], [0x104, 3, { kvmi: 2, vgpu0: 1 }]] }],
      [1, { write: [] }],
    ]);
    expect(j.sptes).toEqual([]);
    const all = JSON.parse(cli('state', log, '--json').stdout);
    expect(all.slots[0].track.write).toHaveLength(30);
    expect(all.sptes).toHaveLength(25);
    expect(JSON.parse(cli('state', log, '--json', '--limit', '3').stdout).sptes).toHaveLength(3);
    expect(JSON.parse(cli('state', log, '--json', '--slot', '1').stdout).slots.map((s: { slot: number }) => s.slot)).toEqual([1]);
    expect(JSON.parse(cli('state', log, '--json', '--gfn', '0x205').stdout).sptes).toEqual([{ as: 0, level: 1, gfn: 0x205, writable: true }]);
  });

  it('bad filters are usage errors (exit 2) that say what was wrong', () => {
    for (const [args, message] of [
      [['--type', 'track,nope'], "pagetrack: --type must be one or more of slots, track, lpage, spte, sp (comma-separated), got 'nope'"],
      [['--gfn', '0x20-0x10'], 'pagetrack: --gfn 0x20-0x10: the range ends before it starts'],
      [['--limit', '3', '--all'], 'pagetrack: give --limit or --all, not both'],
    ] as const) {
      const r = cli('state', log, ...args);
      expect([r.status, r.stderr.trim()]).toEqual([2, message]);
    }
  });
});
