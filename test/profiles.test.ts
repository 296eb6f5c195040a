/**
 * Issue 12: one test per profile difference, with exact events, each named after the kernel
 * source it follows (research read: the mirrors listed in the README's profile table).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Auditor } from '../src/audit/auditor.js';
import { compareProfiles } from '../src/compare/compare.js';
import { type KernelProfile, PROFILES, getProfile, profileForKernel } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { snapshot } from '../src/projections/snapshot.js';
import { WORKLOADS, workloadProfile } from '../src/workloads/index.js';
import { effects, exec } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-profiles-'));
});

const vmOf = (profile: string, o: { tdp?: boolean; externalWriteTracking?: boolean } = {}) => {
  const vm = new PageTrackVm({ profile, ...o });
  exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x1000 });
  return vm;
};
const count = (vm: PageTrackVm, gfn: number, slot = 0) => {
  const s = vm.state.memslots.get(0, slot)!;
  return s.track[0]![gfn - s.base]!;
};

describe('--kernel picks the profile that covers a version', () => {
  it.each([
    ['4.6.2', 'linux-4.6'],
    ['4.19.0', 'linux-4.19'],
    ['5.6.4', 'linux-4.19'],
    ['5.7', 'linux-5.7'],
    ['v5.15.0', 'linux-5.7'],
    ['5.16.20', 'linux-5.16'],
    ['6.1.20', 'linux-6.1'],
    ['6.6.87', 'linux-6.6'],
    ['6.8.0-45-generic', 'linux-6.8'],
    ['6.9', 'linux-6.9'],
    ['6.18.44', 'linux-6.9'],
  ])('%s is %s', (v, name) => {
    expect(profileForKernel(v).name).toBe(name);
  });

  it('a version before page tracking, after the last profile, or no version at all is an error that says so', () => {
    expect(() => profileForKernel('4.5')).toThrow('kernel 4.5 predates page tracking (it arrived in 4.6)');
    expect(() => profileForKernel('7.2')).toThrow('kernel 7.2 is newer than every profile (the last, linux-6.9, covers up to 6.18; 7.2 changes the write-tracked query to check both address spaces)');
    expect(() => profileForKernel('banana')).toThrow("'banana' is not a kernel version (expected MAJOR.MINOR[.PATCH...], e.g. 6.18.44)");
  });

  it('profiles cover every version from 4.6 to 6.18 without gaps or overlaps', () => {
    const list = [...PROFILES.values()];
    for (let i = 1; i < list.length; i++) {
      const [pm, pn] = list[i - 1]!.kernels.to.split('.').map(Number) as [number, number];
      const [m, n] = list[i]!.kernels.from.split('.').map(Number) as [number, number];
      // the next one starts at the next minor, or at x.0 of the next major
      expect(m === pm ? n === pn + 1 : m === pm + 1 && n === 0, `${list[i - 1]!.name} -> ${list[i]!.name}`).toBe(m === pm + 1 ? n === 0 : true);
    }
  });
});

describe('linux-5.7: MOVE gets fresh arrays (kvm_arch_prepare_memory_region -> kvm_alloc_memslot_metadata, 5.7.14)', () => {
  it('the counts are gone and the guards are those of the new base; 4.19 carries both', () => {
    const run = (profile: string, base = 0x3100) => {
      const vm = vmOf(profile);
      exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x2000, npages: 0x200, uaddr: 0x2000 * 4096 });
      exec(vm, { op: 'notifier-register', node: 'v' });
      exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 0x2010 });
      return { vm, r: exec(vm, { op: 'memslot-move', as: 0, slot: 1, base }) };
    };
    const fresh = run('linux-5.7');
    // 0x3100 is aligned to neither 2 MiB nor 1 GiB at either end, and the unchanged userspace
    // address (gfn 0x2000) no longer matches the base modulo either size: every guard applies.
    expect(effects(fresh.r).slice(-7)).toEqual([
      { type: 'memslot-moved', as: 0, slot: 1, base: 0x3100, old: 0x2000, arrays: 'fresh' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 2, from: 0, to: 0, why: 'base-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 2, from: 1, to: 1, why: 'end-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 2, from: 0, to: 1, why: 'uaddr-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 3, from: 0, to: 0, why: 'base-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 3, from: 0, to: 0, why: 'end-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 1, level: 3, from: 0, to: 0, why: 'uaddr-misaligned' },
    ]);
    const s = fresh.vm.state.memslots.get(0, 1)!;
    expect([...s.track[0]!].every((c) => c === 0)).toBe(true);
    expect([...s.lpage[0]!]).toEqual([1, 1]);
    // 4.19 (its carried arrays keep their sizes, so it moves to a base needing no more entries): the
    // node was told (track_flush_slot) but has no handler here, so its count moved with the slot.
    const carried = run('linux-4.19', 0x3000);
    expect(effects(carried.r).at(-1)).toEqual({ type: 'memslot-moved', as: 0, slot: 1, base: 0x3000, old: 0x2000, arrays: 'carried' });
    expect(count(carried.vm, 0x3010, 1)).toBe(1);
    expect(count(run('linux-5.7', 0x3000).vm, 0x3010, 1)).toBe(0);
  });
});

describe('linux-5.16: lazy gfn_track (deae4a10f166; kvm_page_track_write_tracking_enabled, 5.16)', () => {
  it('with TDP and no external tracking config: 0 bytes, add/remove WARN and do nothing, is-active is false without a WARN', () => {
    const vm = vmOf('linux-5.16');
    expect(snapshot(vm.state, ['write']).vm.writeTracking).toEqual({ enabled: false, bytes: 0 });
    exec(vm, { op: 'notifier-register', node: 'v' });
    expect(effects(exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 5 }))).toEqual([
      { type: 'warn', kind: 'write-tracking-disabled', fn: 'kvm_slot_page_track_add_page', printed: true, as: 0, slot: 0, gfn: 5, user: 'v' },
    ]);
    // WARN_ON, not _ONCE: it prints every time
    expect(effects(exec(vm, { op: 'track-remove', user: 'v', as: 0, gfn: 5 }))).toEqual([
      { type: 'warn', kind: 'write-tracking-disabled', fn: 'kvm_slot_page_track_remove_page', printed: true, as: 0, slot: 0, gfn: 5, user: 'v' },
    ]);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: 5 }).value).toBe(false);
  });

  it('the first shadow root enables it (mmu_first_shadow_root_alloc): every slot\'s array, 2 bytes a page, before the page is accounted', () => {
    const vm = vmOf('linux-5.16');
    exec(vm, { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 0x100 });
    const r = exec(vm, { op: 'sp-create', as: 0, gfn: 0x10, level: 4 });
    expect(effects(r).slice(0, 3)).toEqual([
      { type: 'write-tracking-enabled', reason: 'shadow-root', bytes: (0x1000 + 0x100) * 2 },
      { type: 'sp-created', sp: 1, as: 0, gfn: 0x10, level: 4, direct: false },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x10, mode: 0, user: 'kvm-mmu', delta: 1, count: 1 },
    ]);
    expect(snapshot(vm.state, ['write']).vm.writeTracking).toEqual({ enabled: true, bytes: (0x1000 + 0x100) * 2 });
    // a direct (TDP) root never enables it
    const tdpOnly = vmOf('linux-5.16');
    expect(effects(exec(tdpOnly, { op: 'sp-create', as: 0, gfn: 0, level: 4, direct: true })).map((e) => e.type)).toEqual(['sp-created']);
    expect(tdpOnly.state.vm.writeTrackingEnabled).toBe(false);
  });

  it('enabled from the start without TDP (shadow paging) or with CONFIG_KVM_EXTERNAL_WRITE_TRACKING', () => {
    expect(vmOf('linux-5.16', { tdp: false }).state.vm.writeTrackingEnabled).toBe(true);
    expect(vmOf('linux-5.16', { externalWriteTracking: true }).state.vm.writeTrackingEnabled).toBe(true);
    expect(vmOf('linux-5.7').state.vm.writeTrackingEnabled).toBe(true); // no lazy allocation before 5.16
  });
});

describe('linux-6.1: the level-1 write-protect uses the page role\'s address space (account_shadowed, 6.1.20)', () => {
  it('a level-1 SMM page (role.smm = 1) created by a vCPU outside SMM write-protects the SMM mapping, not address space 0', () => {
    const setup = (profile: string) => {
      const vm = vmOf(profile, { tdp: false });
      exec(vm, { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 0x1000 });
      exec(vm, { op: 'fault', as: 0, gfn: 0x30, write: false, hostLevel: 1 });
      exec(vm, { op: 'fault', as: 1, gfn: 0x30, write: false, hostLevel: 1 });
      return effects(exec(vm, { op: 'sp-create', as: 1, gfn: 0x30, level: 1, vcpuAs: 0 })).filter((e) => e.type === 'spte-write-protected');
    };
    expect(setup('linux-6.1')).toEqual([{ type: 'spte-write-protected', as: 1, level: 1, gfn: 0x30, reason: 'sp-create' }]);
    expect(setup('linux-5.16')).toEqual([{ type: 'spte-write-protected', as: 0, level: 1, gfn: 0x30, reason: 'sp-create' }]); // B12
  });
});

describe('linux-6.6: the write-only API and the 29-patch rework (6.6.47, 6.6.87)', () => {
  const six = () => vmOf('linux-6.6', { externalWriteTracking: true });

  it('no KVM node: the registry holds external nodes only; a mode argument is an input error', () => {
    const vm = six();
    expect(vm.state.notifiers.nodes).toEqual([]);
    expect(vm.execute({ op: 'track-add', user: 'v', as: 0, gfn: 1, mode: 0 }).rejection).toEqual({ field: 'mode', reason: 'linux-6.6 has no track modes: the write-only API takes no mode (kvm-x86 2431c9ab231a)' });
    expect(vm.execute({ op: 'is-active', as: 0, gfn: 1, mode: 0 }).rejection).toEqual({ field: 'mode', reason: 'linux-6.6 has no track modes: the write-only API takes no mode (kvm-x86 2431c9ab231a)' });
  });

  it('kvm_write_track_add_gfn: the kernel finds the slot in address space 0; without one, -EINVAL and nothing else', () => {
    const vm = six();
    expect(vm.execute({ op: 'track-add', user: 'v', as: 0, gfn: 1, slot: 0 }).rejection?.field).toBe('slot');
    expect(vm.execute({ op: 'track-add', user: 'v', as: 1, gfn: 1 }).rejection).toEqual({ field: 'as', reason: "linux-6.6's external API looks gfns up in address space 0 only (gfn_to_memslot), got 1" });
    const none = exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 0x9000 });
    expect([none.value, effects(none)]).toEqual([-22, []]);
    const ok = exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 7 });
    expect(ok.value).toBe(0);
    expect(effects(ok)[0]).toEqual({ type: 'track-count-step', as: 0, slot: 0, gfn: 7, mode: 0, user: 'v', delta: 1, count: 1 });
  });

  it('a write: external nodes are told first, then kvm_mmu_track_write runs with no notification of its own (page_track.h)', () => {
    const vm = six();
    exec(vm, { op: 'notifier-register', node: 'a' });
    exec(vm, { op: 'notifier-register', node: 'b' });
    exec(vm, { op: 'sp-create', as: 0, gfn: 0x10, level: 2 });
    const r = exec(vm, { op: 'write', as: 0, gpa: 0x10000, bytes: 8, via: 'emulator' });
    expect(effects(r)).toEqual([
      { type: 'write', as: 0, gpa: 0x10000, bytes: 8, via: 'emulator', outcome: 'emulated' },
      { type: 'notification', node: 'b', as: 0, gpa: 0x10000, bytes: 8 },
      { type: 'notification', node: 'a', as: 0, gpa: 0x10000, bytes: 8 },
      { type: 'sp-write-flooding', sp: 1, count: 1 },
    ]);
  });

  it('DELETE: zap-all, the slot goes, then track_remove_region to every node (kvm_arch_commit_memory_region -> kvm_page_track_delete_slot)', () => {
    const vm = six();
    exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x2000, npages: 0x10 });
    exec(vm, { op: 'notifier-register', node: 'a' });
    exec(vm, { op: 'notifier-register', node: 'b' });
    exec(vm, { op: 'track-add', user: 'a', as: 0, gfn: 0x2003 });
    expect(effects(exec(vm, { op: 'memslot-delete', as: 0, slot: 1 })).filter((e) => e.type !== 'spte-zapped' && e.type !== 'tlb-flushed')).toEqual([
      { type: 'mmu-zapped-all', reason: 'memslot-delete' },
      { type: 'memslot-deleted', as: 0, slot: 1 },
      { type: 'remove-region-notified', node: 'b', as: 0, slot: 1, gfn: 0x2000, npages: 0x10 },
      { type: 'remove-region-notified', node: 'a', as: 0, slot: 1, gfn: 0x2000, npages: 0x10 },
    ]);
  });

  it('MOVE with an external node registered: the zap-all happens, then prepare fails with -EINVAL and the slot stays', () => {
    const vm = six();
    exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x2000, npages: 0x10 });
    exec(vm, { op: 'sp-create', as: 0, gfn: 0x20, level: 3 });
    exec(vm, { op: 'notifier-register', node: 'a' });
    const r = exec(vm, { op: 'memslot-move', as: 0, slot: 1, base: 0x3000 });
    expect(r.value).toBe(-22);
    expect(effects(r).map((e) => e.type)).toEqual(['mmu-zapped-all', 'sp-zapped', 'track-count-step', 'lpage-step', 'lpage-step', 'tlb-flushed', 'memslot-change-failed']);
    expect(vm.state.memslots.get(0, 1)!.base).toBe(0x2000);
    exec(vm, { op: 'notifier-unregister', node: 'a' });
    expect(effects(exec(vm, { op: 'memslot-move', as: 0, slot: 1, base: 0x3000 })).at(0)).toEqual({ type: 'mmu-zapped-all', reason: 'memslot-move' });
    expect(vm.state.memslots.get(0, 1)!.base).toBe(0x3000);
  });

  it('WARN_ON_ONCE: every underflow is an event, only the first at its site is printed', () => {
    const vm = six();
    exec(vm, { op: 'notifier-register', node: 'v' });
    const warns = [1, 2].map(() => effects(exec(vm, { op: 'track-remove', user: 'v', as: 0, gfn: 9 })).filter((e) => e.type === 'warn' && e.kind === 'gfn-track-underflow'));
    expect(warns).toEqual([
      [{ type: 'warn', kind: 'gfn-track-underflow', fn: 'update_gfn_write_track', printed: true, as: 0, slot: 0, gfn: 9, mode: 0, user: 'v', value: 0 }],
      [{ type: 'warn', kind: 'gfn-track-underflow', fn: 'update_gfn_write_track', printed: false, as: 0, slot: 0, gfn: 9, mode: 0, user: 'v', value: 0 }],
    ]);
  });

  it('KVM_BUG_ON when write tracking is used but not enabled: the VM is dead, every later command is refused with why', () => {
    const vm = vmOf('linux-6.6'); // TDP, no external config: nothing enabled it
    exec(vm, { op: 'notifier-register', node: 'v' });
    const r = exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 3 });
    expect(r.value).toBe(0); // kvm_write_track_add_gfn still returns 0
    expect(effects(r)).toEqual([
      { type: 'warn', kind: 'kvm-bug', fn: '__kvm_write_track_add_gfn', printed: true, as: 0, slot: 0, gfn: 3, user: 'v' },
      { type: 'vm-bugged', fn: '__kvm_write_track_add_gfn', reason: 'write tracking is used but not enabled (KVM_BUG_ON(!kvm_page_track_write_tracking_enabled(kvm)))' },
    ]);
    expect(vm.execute({ op: 'fault', as: 0, gfn: 3, write: false, hostLevel: 1 }).rejection).toEqual({
      reason: 'the VM is dead: KVM_BUG_ON in __kvm_write_track_add_gfn at command 3 (write tracking is used but not enabled (KVM_BUG_ON(!kvm_page_track_write_tracking_enabled(kvm)))); KVM answers -EIO',
    });
  });

  it('register takes a VM reference: vm-destroy is refused while a node is registered, and goes through after unregister', () => {
    const vm = six();
    exec(vm, { op: 'notifier-register', node: 'gvt' });
    expect(vm.execute({ op: 'vm-destroy' }).rejection?.reason).toBe('the VM is still referenced by 1 registered notifier(s) (gvt): kvm_page_track_register_notifier took a VM reference, so kvm_destroy_vm runs only after they unregister');
    exec(vm, { op: 'notifier-unregister', node: 'gvt' });
    expect(effects(exec(vm, { op: 'vm-destroy' }))).toEqual([
      { type: 'mmu-zapped-all', reason: 'vm-destroy' },
      { type: 'vm-destroyed', registered: 0 },
    ]);
    expect(vm.execute({ op: 'memslot-create', as: 0, slot: 3, base: 0x9000, npages: 1, flags: 0, uaddr: 0 }).rejection?.reason).toBe('the VM was destroyed by command 5');
  });
});

describe('linux-6.8: KVM_LPAGE_MIXED_FLAG (update_gfn_disallow_lpage_count, 6.8.0)', () => {
  it('the WARN fires when bit 31 flips: 0 -> -1 and -1 -> 0 warn, -1 -> -2 and -2 -> -1 do not; 6.6 warns at every negative value', () => {
    const lpageWarns = (profile: string) => {
      const vm = vmOf(profile, { tdp: false });
      exec(vm, { op: 'notifier-register', node: 'v' });
      const steps = [
        ['track-remove', 0x200], // 0 -> -1
        ['track-remove', 0x201], // -1 -> -2
        ['track-add', 0x202], // -2 -> -1
        ['track-add', 0x203], // -1 -> 0
      ] as const;
      return steps.map(([op, gfn]) => effects(exec(vm, { op, user: 'v', as: 0, gfn })).filter((e) => e.type === 'warn' && e.kind !== 'gfn-track-underflow' && e.level === 2).map((e) => `${e.kind}:${e.value}:${e.printed}`));
    };
    expect(lpageWarns('linux-6.8')).toEqual([['lpage-mixed-flag-flip:-1:true'], [], [], ['lpage-mixed-flag-flip:0:false']]);
    expect(lpageWarns('linux-6.6')).toEqual([['lpage-negative:-1:true'], ['lpage-negative:-2:false'], ['lpage-negative:-1:false'], []]);
    expect(lpageWarns('linux-4.19')).toEqual([['lpage-negative:-1:true'], ['lpage-negative:-2:true'], ['lpage-negative:-1:true'], []]);
  });
});

describe('linux-6.9: the first external register enables write tracking (kvm_enable_external_write_tracking, 6.9.0 to 6.18.2)', () => {
  it('the config alone no longer enables it; registering does, before the node is linked', () => {
    expect(vmOf('linux-6.8', { externalWriteTracking: true }).state.vm.writeTrackingEnabled).toBe(true);
    const vm = vmOf('linux-6.9', { externalWriteTracking: true });
    expect(vm.state.vm.writeTrackingEnabled).toBe(false);
    expect(effects(exec(vm, { op: 'notifier-register', node: 'gvt' }))).toEqual([
      { type: 'write-tracking-enabled', reason: 'external-user', bytes: 0x1000 * 2 },
      { type: 'notifier-registered', node: 'gvt' },
    ]);
  });
});

describe('every profile: host writability, zap-all, VM destruction', () => {
  it.each([...PROFILES.keys()])('%s: a read fault on a never-written host page maps read-only (hva_to_pfn), so a later track-add write-protects nothing and flushes nothing', (profile) => {
    const vm = vmOf(profile, { tdp: false });
    const f = exec(vm, { op: 'fault', as: 0, gfn: 0x40, write: false, hostLevel: 1, hostWritable: false });
    expect(effects(f)).toEqual([
      { type: 'fault', as: 0, gfn: 0x40, write: false, present: false, outcome: 'mapped', hostWritable: false },
      { type: 'spte-installed', as: 0, level: 1, gfn: 0x40, writable: false },
    ]);
    exec(vm, { op: 'notifier-register', node: 'v' });
    expect(effects(exec(vm, { op: 'track-add', user: 'v', as: 0, gfn: 0x40 })).map((e) => e.type)).toEqual(['track-count-step', 'lpage-step', 'lpage-step']);
    // the same fault on a host-writable page maps writable, and track-add then write-protects and flushes
    const w = vmOf(profile, { tdp: false });
    exec(w, { op: 'fault', as: 0, gfn: 0x40, write: false, hostLevel: 1 });
    exec(w, { op: 'notifier-register', node: 'v' });
    expect(effects(exec(w, { op: 'track-add', user: 'v', as: 0, gfn: 0x40 })).map((e) => e.type)).toEqual(['track-count-step', 'lpage-step', 'lpage-step', 'spte-write-protected', 'tlb-flushed']);
  });

  it.each([...PROFILES.values()].map((p) => [p.name, p] as const))('%s: zap-all zaps and unaccounts every shadow page (kvm_mmu_zap_all); vm-destroy tears down', (_name, p: KernelProfile) => {
    const vm = vmOf(p.name, { tdp: false });
    exec(vm, { op: 'sp-create', as: 0, gfn: 0x10, level: 4 });
    expect(effects(exec(vm, { op: 'zap-all' }))).toEqual([
      { type: 'mmu-zapped-all', reason: 'zap-all' },
      { type: 'sp-zapped', sp: 1, reason: 'zap-all' },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x10, mode: 0, user: 'kvm-mmu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 0, gfn: 0x10, delta: -1, value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x10, delta: -1, value: 1 }, // the slot's end guard stays
      { type: 'tlb-flushed', reason: 'zap-all' },
    ]);
    exec(vm, { op: 'sp-create', as: 0, gfn: 0x11, level: 3 });
    const d = effects(exec(vm, { op: 'vm-destroy' })).map((e) => e.type);
    expect(d).toEqual(['mmu-zapped-all', 'sp-zapped', 'track-count-step', 'lpage-step', 'lpage-step', 'tlb-flushed', ...(p.kvmNode ? ['notifier-unregistered'] : []), 'vm-destroyed']);
    expect(vm.state.memslots.slots.size).toBe(0);
  });

  it('6.6+ (kvm_page_track_has_external_user): a user tracking with no node of its own loses its counts to a MOVE, which the audit reports as B14; its B2 names update_gfn_write_track', () => {
    const vm = vmOf('linux-6.6', { externalWriteTracking: true });
    exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x2000, npages: 512 });
    exec(vm, { op: 'track-add', user: 'vgpu0', as: 0, gfn: 0x2010 });
    exec(vm, { op: 'track-remove', user: 'vgpu0', as: 0, gfn: 0x10 });
    exec(vm, { op: 'memslot-move', as: 0, slot: 1, base: 0x4000 });
    const a = new Auditor('linux-6.6');
    for (const e of vm.log!.events) a.see(e);
    const r = a.finish();
    expect(r.summary.classes).toContain('B14');
    expect(r.findings.filter((f) => f.class === 'B14').map((f) => [f.severity, f.message])).toEqual([
      ['warning', 'the MOVE of slot 1 to base 0x4000 dropped the counts of 1 gfn(s): their users lose write protection (units: vgpu0 1)'],
    ]);
    expect(r.findings.find((f) => f.class === 'B2')?.message).toBe('a remove at count 0 by vgpu0 on gfn 0x10: update_gfn_write_track WARNed and kept the count');
  });

  it('<= 6.5: a VM destroyed with an external node still registered is B20 in the audit', () => {
    const vm = vmOf('linux-4.19');
    exec(vm, { op: 'notifier-register', node: 'gvt' });
    exec(vm, { op: 'vm-destroy' });
    const a = new Auditor('linux-4.19');
    for (const e of vm.log!.events) a.see(e);
    expect(a.finish().findings.filter((f) => f.class === 'B20')).toEqual([
      { class: 'B20', severity: 'error', position: { event: vm.log!.events.at(-1)!.seq, command: 3 }, node: 'gvt', message: 'the VM was destroyed with 1 external notifier(s) still registered (gvt): they stay linked into the freed VM', ref: 'docs/reference.md#B20' },
    ]);
  });
});

describe('workloads run under every profile that can host them, clean', () => {
  for (const w of WORKLOADS) {
    for (const p of PROFILES.values()) {
      if (!w.hosts(p)) {
        it(`${w.name} is refused under ${p.name}, saying why`, () => {
          expect(() => workloadProfile(w, p)).toThrow(`workload ${w.name} cannot run under ${p.name}`);
        });
        continue;
      }
      it(`${w.name} under ${p.name}: no finding at warning or above`, () => {
        const vm = new PageTrackVm({ profile: p, ...w.vm });
        w.run(vm, { events: 20_000, seed: 3 });
        const a = new Auditor(p.name);
        for (const e of vm.log!.events) a.see(e);
        const r = a.finish();
        expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
        if (w.name === 'vgpu') {
          const t = vm.state.tallies;
          expect(p.removeRegionOnDelete ? t.regionRemovals : t.slotFlushes).toBeGreaterThan(0);
        }
      });
    }
  }
});

describe('pagetrack compare and pagetrack profiles', () => {
  it('compare: the first diverging command and event, the outcomes that differ, and the state at the end (exit 1 when they part)', () => {
    const script = join(dir, 'move.ndjson');
    writeFileSync(
      script,
      [
        '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":4096}',
        '{"op":"memslot-create","as":0,"slot":1,"base":8192,"npages":512}',
        '{"op":"notifier-register","node":"vgpu0"}',
        '{"op":"track-add","user":"vgpu0","as":0,"gfn":"0x2010"}',
        '{"op":"memslot-move","as":0,"slot":1,"base":"0x4000"}',
      ].join('\n') + '\n',
    );
    const r = spawnSync(process.execPath, [BIN, 'compare', script, '--profiles', 'linux-4.19,5.7.14,linux-6.6', '--external-write-tracking', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.profiles).toEqual(['linux-4.19', 'linux-5.7', 'linux-6.6']);
    expect(j.pairs[0].firstDivergence).toEqual({
      command: 5,
      line: 5,
      op: 'memslot-move',
      effect: 3,
      reference: { type: 'memslot-moved', as: 0, slot: 1, base: 0x4000, old: 0x2000, arrays: 'carried' },
      other: { type: 'memslot-moved', as: 0, slot: 1, base: 0x4000, old: 0x2000, arrays: 'fresh' },
    });
    expect(j.pairs[0].state).toEqual([
      { key: 'as0 slot 1: count of gfn 0x4010', reference: '1', other: null },
      { key: 'as0 slot 1: disallow_lpage L2 frame 0x4000', reference: '1', other: null },
      { key: 'as0 slot 1: disallow_lpage L3 frame 0x0', reference: '2', other: '1' },
    ]);
    expect(j.pairs[1].outcomes).toEqual([
      { command: 4, line: 4, op: 'track-add', reference: 'ok', other: 'ok 0' },
      { command: 5, line: 5, op: 'memslot-move', reference: 'ok', other: 'ok -22' },
    ]);
  });

  it('compare - reads the script from standard input (README, "CLI"), with the same answer as from the file', () => {
    const demo = join(import.meta.dirname, '..', 'examples', 'demo.ndjson');
    const args = ['--profiles', 'linux-4.6,linux-6.6', '--json'];
    const fromFile = spawnSync(process.execPath, [BIN, 'compare', demo, ...args], { encoding: 'utf8' });
    const fromStdin = spawnSync(process.execPath, [BIN, 'compare', '-', ...args], { encoding: 'utf8', input: readFileSync(demo) });
    expect([fromStdin.status, fromStdin.stderr]).toEqual([1, '']);
    expect(JSON.parse(fromStdin.stdout)).toEqual(JSON.parse(fromFile.stdout));
  });

  it('compare in memory: the same profile twice is the same', () => {
    const lines = ['{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}', '{"op":"fault","as":0,"gfn":1,"write":true}'].map((text, i) => ({ line: i + 1, text }));
    expect(compareProfiles(lines, [getProfile('linux-6.8'), getProfile('linux-6.8')]).same).toBe(true);
  });

  it('profiles --json lists every profile with its kernels, rules, WARNs and audit classes', () => {
    const r = spawnSync(process.execPath, [BIN, 'profiles', '--json'], { encoding: 'utf8' });
    const j = JSON.parse(r.stdout);
    expect(j.profiles.map((p: { name: string }) => p.name)).toEqual([...PROFILES.keys()]);
    expect(j.profiles.at(-1)).toMatchObject({
      name: 'linux-6.9',
      kernels: { from: '6.9', to: '6.18' },
      warns: ['gfn-track-overflow', 'gfn-track-underflow', 'lpage-mixed-flag-flip', 'kvm-bug'],
      auditClasses: ['B1', 'B2', 'B3', 'B4', 'B5', 'B7', 'B9', 'B10', 'B11', 'B13', 'B14', 'B17'],
      rules: { lazyWriteTracking: 'register', kvmNode: false, moveArrays: 'fresh' },
    });
  });

  it('run --kernel 6.18.44 writes a linux-6.9 log; simulate vgpu --profile linux-4.6 is refused', () => {
    const script = join(dir, 'one.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\n');
    const log = join(dir, 'k.log');
    expect(spawnSync(process.execPath, [BIN, 'run', script, '--kernel', '6.18.44', '--log', log, '--quiet'], { encoding: 'utf8' }).status).toBe(0);
    expect(JSON.parse(spawnSync(process.execPath, [BIN, 'state', log, '--json'], { encoding: 'utf8' }).stdout).profile).toBe('linux-6.9');
    const s = spawnSync(process.execPath, [BIN, 'simulate', 'vgpu', '--profile', 'linux-4.6', '--out', join(dir, 'x.log')], { encoding: 'utf8' });
    expect([s.status, s.stderr.trim()]).toEqual([2, 'pagetrack: workload vgpu cannot run under linux-4.6: linux-4.6 exports no page-track API to external users (profiles that host it: linux-4.19, linux-5.7, linux-5.16, linux-6.1, linux-6.6, linux-6.8, linux-6.9)']);
  });
});
