import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Auditor, type Finding } from '../src/audit/auditor.js';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { cmd } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');

function auditEvents(events: readonly PageTrackEvent[], profile = 'linux-4.6') {
  const a = new Auditor(profile);
  for (const e of events) a.see(e);
  return a.finish();
}

function auditScript(script: Array<Record<string, unknown>>, profile = 'linux-4.6') {
  const vm = new PageTrackVm({ profile });
  for (const c of script) vm.execute(cmd(c));
  return auditEvents(vm.log!.events, profile);
}

const brief = (fs: readonly Finding[]) => fs.map((f) => `${f.class} ${f.severity} e${f.position.event} c${f.position.command}${f.gfn !== undefined ? ` gfn=${f.gfn}` : ''}${f.user ? ` user=${f.user}` : ''}${f.node ? ` node=${f.node}` : ''}`);

const SLOT = { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x1000 };

describe('audit (spec 8): each class with the event and command where it started', () => {
  it('a clean, balanced run has no finding at warning or above', () => {
    const r = auditScript([
      SLOT,
      { op: 'notifier-register', node: 'vgpu' },
      { op: 'track-add', user: 'vgpu', as: 0, gfn: 5 },
      { op: 'write', as: 0, gpa: 5 * 4096, bytes: 8 },
      { op: 'sp-create', as: 0, gfn: 9, level: 2 },
      { op: 'sp-zap', sp: 1 },
      { op: 'track-remove', user: 'vgpu', as: 0, gfn: 5 },
      { op: 'notifier-unregister', node: 'vgpu' },
      { op: 'memslot-delete', as: 0, slot: 0 },
    ]);
    expect(r.findings).toEqual([]);
    expect(r.summary.findings).toEqual({ error: 0, warning: 0, info: 0 });
    expect(r.summary.writes).toEqual({ direct: 0, emulated: 1, mmio: 0, blind: 0 });
    expect(r.summary.balances).toEqual({ 'kvm-mmu': 0, vgpu: 0 });
  });

  it('B1, B2, B3, B4, B9 in the demo log, where they start', () => {
    const script = [
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x1000 },
      { op: 'notifier-register', node: 'vgpu0' },
      { op: 'track-add', user: 'vgpu0', as: 0, gfn: 0x34 },
      { op: 'sp-create', as: 0, gfn: 0x34, level: 2 },
      { op: 'track-remove', user: 'vgpu0', as: 0, gfn: 0x34 },
      { op: 'track-remove', user: 'vgpu0', as: 0, gfn: 0x34 },
      { op: 'track-remove', user: 'vgpu0', as: 0, gfn: 0x34 },
      { op: 'sp-zap', sp: 1 },
    ];
    expect(brief(auditScript(script).findings)).toEqual([
      'B1 error e22 c6 gfn=52 user=vgpu0', // the second remove takes kvm-mmu's unit
      'B2 error e26 c7 gfn=52 user=vgpu0', // the third is refused at count 0...
      'B3 warning e26 c7 gfn=52 user=vgpu0', // ...yet moves disallow_lpage
      'B4 error e28 c7 gfn=52', // 2M frame: 2 adds, 3 removes
      'B2 error e32 c8 gfn=52 user=kvm-mmu', // the zap's unaccount is refused too
      'B3 warning e32 c8 gfn=52 user=kvm-mmu',
      'B4 error e34 c8 gfn=52',
      'B4 error e36 c8 gfn=52', // 1G frame: its end guard held it at 0 until now
      'B9 error e37 c8 gfn=52 user=kvm-mmu', // no shadow page left, one kvm-mmu unit counted
    ]);
  });

  it('B11: late registration, a leak at unregister; B13: tracking left on a deleted slot', () => {
    const r = auditScript([
      SLOT,
      { op: 'track-add', user: 'intro', as: 0, gfn: 7 },
      { op: 'notifier-register', node: 'intro' },
      { op: 'notifier-unregister', node: 'intro' },
      { op: 'memslot-delete', as: 0, slot: 0 },
    ]);
    expect(brief(r.findings)).toEqual(['B11 warning e7 c2 gfn=7 user=intro', 'B11 error e13 c4 user=intro node=intro', 'B13 error e16 c5']);
    expect(r.findings[2]!.message).toBe('1 gfn(s) of slot 0 were still tracked when it was deleted (units: intro 1)');
  });

  it('B10: a blind write to a tracked gfn; B15: a 4.19 flush that external nodes acted on, then failed', () => {
    const blind = auditScript([SLOT, { op: 'notifier-register', node: 'v' }, { op: 'track-add', user: 'v', as: 0, gfn: 7 }, { op: 'write', as: 0, gpa: 7 * 4096, bytes: 4, via: 'dma' }]);
    expect(brief(blind.findings)).toEqual(['B10 info e13 c4 gfn=7']);
    expect(blind.summary.blindWritesToTracked).toBe(1);
    const spec = auditScript([SLOT, { op: 'notifier-register', node: 'v' }, { op: 'memslot-delete', as: 0, slot: 0, prepareFails: true }], 'linux-4.19');
    expect(brief(spec.findings)).toEqual(['B15 warning e12 c3']);
  });

  it('B5, B7 and deliveries a faithful model never produces, on hand-made logs', () => {
    const base = (seq: number, cmd: number) => ({ seq, cmd, v: 1 });
    const events = [
      { ...base(1, 0), type: 'vm-created', profile: 'linux-4.6', addressSpaces: 2 },
      { ...base(2, 0), type: 'notifier-registered', node: 'kvm-mmu' },
      { ...base(3, 1), type: 'memslot-created', as: 0, slot: 0, base: 0, npages: 0x1000, flags: 0, uaddr: 0 },
      { ...base(4, 2), type: 'track-count-step', as: 0, slot: 0, gfn: 0x201, mode: 0, user: 'kvm-mmu', delta: 1, count: 1 },
      { ...base(5, 2), type: 'lpage-step', as: 0, slot: 0, level: 2, index: 1, gfn: 0x201, delta: 1, value: 1 },
      // A writable 4K SPTE on the tracked gfn (B5), a 2M SPTE over the disallowed frame (B7).
      { ...base(6, 3), type: 'spte-installed', as: 0, level: 1, gfn: 0x201, writable: true },
      { ...base(7, 4), type: 'spte-installed', as: 0, level: 2, gfn: 0x200, writable: false },
      // An emulated write that skipped the registered kvm-mmu node (B10), a delivery to a stranger (B11).
      { ...base(8, 5), type: 'write', as: 0, gpa: 0x5000, bytes: 4, via: 'emulator', outcome: 'emulated' },
      { ...base(9, 6), type: 'write', as: 0, gpa: 0x6000, bytes: 4, via: 'emulator', outcome: 'emulated' },
      { ...base(10, 6), type: 'notification', node: 'ghost', as: 0, gpa: 0x6000, bytes: 4 },
      { ...base(11, 6), type: 'notification', node: 'kvm-mmu', as: 0, gpa: 0x6000, bytes: 4 },
    ] as unknown as PageTrackEvent[];
    expect(brief(auditEvents(events).findings)).toEqual(['B5 error e6 c3 gfn=513', 'B7 error e7 c4 gfn=512', 'B10 error e8 c5 gfn=5 node=kvm-mmu', 'B11 error e10 c6 gfn=6 node=ghost']);
  });
});

describe('pagetrack audit', () => {

  it('summary and findings as tables, JSON and CSV; --fail-on gates the exit status', () => {
    const log = join(ROOT, 'examples', 'demo.log.ndjson');
    const t = spawnSync(process.execPath, [BIN, 'audit', log], { encoding: 'utf8' });
    expect(t.status).toBe(1);
    expect(t.stdout.split('\n').slice(0, 7)).toEqual([
      'audit of 62 events, 14 commands (linux-4.6)',
      expect.stringMatching(/^tracked gfns over time: .*e62:0$/),
      'user balances (adds - removes): kvm-mmu 1, vgpu0 -1',
      'writes: direct 1, emulated 1, mmio 0, blind 1; blind writes to tracked gfns 0; notifications 2; TLB flushes 2',
      'WARNs: invalid-mode 0, gfn-track-overflow 0, gfn-track-underflow 2, lpage-negative 4',
      'top gfns: 0x1234 (7)',
      'findings: 8 error, 2 warning, 0 info (B1 1, B2 2, B3 2, B4 4, B9 1)',
    ]);
    const j = JSON.parse(spawnSync(process.execPath, [BIN, 'audit', log, '--json'], { encoding: 'utf8' }).stdout);
    expect(j.findings.map((f: Finding) => f.class)).toEqual(['B1', 'B2', 'B3', 'B4', 'B4', 'B2', 'B3', 'B4', 'B4', 'B9']);
    const csv = spawnSync(process.execPath, [BIN, 'audit', log, '--csv'], { encoding: 'utf8' }).stdout.split('\n');
    expect(csv[0]).toBe('class,severity,event,command,as,slot,gfn,user,node,message,ref,trace_file,trace_line,trace_ts');
    expect(csv[1]).toBe("B1,error,41,11,0,0,4660,vgpu0,,vgpu0 removed a unit of gfn 0x1234 it never added: it took another user's tracking (count now 0),docs/reference.md#B1,,,");
    const clean = join(ROOT, 'test', 'fixtures', 'v1-demo.log.ndjson');
    expect(spawnSync(process.execPath, [BIN, 'audit', clean, '--fail-on', 'error', '--quiet'], { encoding: 'utf8' }).status).toBe(1);
  });
});
