import { describe, expect, it } from 'vitest';
import { count, effects, exec, lpage, vmWithSlot } from './helpers.js';

describe('shadow pages (spec 5.1)', () => {
  it('spec 5.1: a non-leaf indirect page is write-tracked by kvm-mmu', () => {
    const vm = vmWithSlot();
    const r = exec(vm, { op: 'sp-create', as: 0, gfn: 0x300, level: 3 });
    expect(r.value).toBe(1);
    expect(effects(r)).toEqual([
      { type: 'sp-created', sp: 1, as: 0, gfn: 0x300, level: 3, direct: false },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x300, mode: 0, user: 'kvm-mmu', delta: 1, count: 1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 1, gfn: 0x300, delta: 1, value: 1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x300, delta: 1, value: 1 },
    ]);
    expect(vm.state.shadowPages.indirect).toBe(1);
  });

  it('spec 5.1: a leaf page disallows large pages and write-protects the gfn, but is not write-tracked', () => {
    const vm = vmWithSlot([{ op: 'fault', as: 0, gfn: 0x300, write: true, hostLevel: 1 }]);
    const r = exec(vm, { op: 'sp-create', as: 0, gfn: 0x300, level: 1 });
    expect(effects(r)).toEqual([
      { type: 'sp-created', sp: 1, as: 0, gfn: 0x300, level: 1, direct: false },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 1, gfn: 0x300, delta: 1, value: 1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x300, delta: 1, value: 1 },
      { type: 'spte-write-protected', as: 0, level: 1, gfn: 0x300, reason: 'sp-create' },
      { type: 'tlb-flushed', reason: 'sp-create' },
    ]);
    expect(count(vm, 0, 0, 0x300)).toBe(0);
  });

  it('B12: the leaf write-protect uses the creating vCPU address space, not role.smm', () => {
    const vm = vmWithSlot([
      { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 0x1000 },
      { op: 'fault', as: 1, gfn: 0x300, write: true, hostLevel: 1 },
      { op: 'fault', as: 0, gfn: 0x300, write: true, hostLevel: 1 },
    ]);
    // An SMM-role page created by a vCPU outside SMM: lpage moves in AS1, write-protect hits AS0.
    const r = exec(vm, { op: 'sp-create', as: 1, gfn: 0x300, level: 1, vcpuAs: 0 });
    expect(effects(r).slice(1)).toEqual([
      { type: 'lpage-step', as: 1, slot: 0, level: 2, index: 1, gfn: 0x300, delta: 1, value: 1 },
      { type: 'lpage-step', as: 1, slot: 0, level: 3, index: 0, gfn: 0x300, delta: 1, value: 2 }, // + end guard
      { type: 'spte-write-protected', as: 0, level: 1, gfn: 0x300, reason: 'sp-create' },
      { type: 'tlb-flushed', reason: 'sp-create' },
    ]);
    expect(vm.state.sptes.covering(1, 0x300)?.writable).toBe(true);
  });

  it('spec 5.1: zapping unaccounts exactly once and flushes; a second zap is rejected', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x300, level: 2 }]);
    const r = exec(vm, { op: 'sp-zap', sp: 1 });
    expect(effects(r)).toEqual([
      { type: 'sp-zapped', sp: 1, reason: 'sp-zap' },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x300, mode: 0, user: 'kvm-mmu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 1, gfn: 0x300, delta: -1, value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x300, delta: -1, value: 0 },
      { type: 'tlb-flushed', reason: 'sp-zap' },
    ]);
    expect(exec(vm, { op: 'sp-zap', sp: 1 }).rejection).toEqual({ field: 'sp', reason: 'shadow page 1 is not live (never created, or zapped already)' });
    expect(vm.state.shadowPages.indirect).toBe(0);
  });

  it('direct pages account nothing; ids are never reused', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x300, level: 2, direct: true }, { op: 'sp-zap', sp: 1 }]);
    const r = exec(vm, { op: 'sp-create', as: 0, gfn: 0x300, level: 2, direct: true });
    expect(r.value).toBe(2);
    expect(effects(r)).toEqual([{ type: 'sp-created', sp: 2, as: 0, gfn: 0x300, level: 2, direct: true }]);
    expect(vm.state.shadowPages.indirect).toBe(0);
  });
});

describe('faults (spec 5.2)', () => {
  it('maps at the highest level the disallow counters allow, writable when untracked', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: 0x201 }]);
    // 1G frame 0 disallowed (by the add), 2M frame 0 allowed.
    expect(exec(vm, { op: 'fault', as: 0, gfn: 0x10, write: false }).value).toBe('mapped');
    expect(vm.state.sptes.covering(0, 0x10)).toEqual({ as: 0, level: 2, gfn: 0, writable: true });
    // The tracked gfn's 2M frame is disallowed too: a 4K read-only mapping.
    expect(exec(vm, { op: 'fault', as: 0, gfn: 0x201, write: false }).value).toBe('mapped');
    expect(vm.state.sptes.covering(0, 0x201)).toEqual({ as: 0, level: 1, gfn: 0x201, writable: false });
    // Untracked neighbour in the same 2M frame: 4K writable.
    exec(vm, { op: 'fault', as: 0, gfn: 0x202, write: true });
    expect(vm.state.sptes.covering(0, 0x202)).toEqual({ as: 0, level: 1, gfn: 0x202, writable: true });
    // Outside the slot: 1G frame 4 lies outside slot 0 entirely -> MMIO, nothing mapped.
    expect(exec(vm, { op: 'fault', as: 0, gfn: 0x100000, write: true }).value).toBe('mmio');
  });

  it('spec 5.2: a write to a present read-only mapping of a tracked gfn is emulated without touching SPTEs', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: 0x201 }, { op: 'fault', as: 0, gfn: 0x201, write: false }]);
    const r = exec(vm, { op: 'fault', as: 0, gfn: 0x201, write: true });
    expect(effects(r)).toEqual([{ type: 'fault', as: 0, gfn: 0x201, write: true, present: true, outcome: 'emulate', hostWritable: true }]);
  });

  it('spec 5.2: a not-present write fault on a tracked gfn installs a read-only SPTE, then emulates', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: 0x201 }]);
    const r = exec(vm, { op: 'fault', as: 0, gfn: 0x201, write: true });
    expect(effects(r)).toEqual([
      { type: 'fault', as: 0, gfn: 0x201, write: true, present: false, outcome: 'emulate', hostWritable: true },
      { type: 'spte-installed', as: 0, level: 1, gfn: 0x201, writable: false },
    ]);
  });

  it('B8: after remove, write access returns only through a later fault', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: 0x201 }, { op: 'fault', as: 0, gfn: 0x201, write: false }, { op: 'track-remove', user: 'vgpu', as: 0, gfn: 0x201 }]);
    expect(vm.state.sptes.covering(0, 0x201)?.writable).toBe(false);
    const r = exec(vm, { op: 'fault', as: 0, gfn: 0x201, write: true });
    expect(r.value).toBe('mapped');
    // Counters allow 1 GiB again: the huge SPTE replaces the 4K table under it, with a flush.
    expect(effects(r)).toEqual([
      { type: 'fault', as: 0, gfn: 0x201, write: true, present: true, outcome: 'mapped', hostWritable: true },
      { type: 'spte-zapped', as: 0, level: 1, gfn: 0x201, reason: 'huge-replaces-table' },
      { type: 'tlb-flushed', reason: 'huge-replaces-table' },
      { type: 'spte-installed', as: 0, level: 3, gfn: 0, writable: true },
    ]);
  });

  it('a 4K mapping under a huge one drops the huge SPTE first (drop_large_spte flushes)', () => {
    const vm = vmWithSlot([{ op: 'fault', as: 0, gfn: 0x10, write: true }]);
    const r = exec(vm, { op: 'fault', as: 0, gfn: 0x11, write: true, hostLevel: 1 });
    expect(effects(r)).toEqual([
      { type: 'fault', as: 0, gfn: 0x11, write: true, present: true, outcome: 'mapped', hostWritable: true },
      { type: 'spte-zapped', as: 0, level: 3, gfn: 0, reason: 'table-replaces-huge' },
      { type: 'tlb-flushed', reason: 'table-replaces-huge' },
      { type: 'spte-installed', as: 0, level: 1, gfn: 0x11, writable: true },
    ]);
  });

  it('read-only slots map read-only; a write there is emulated and fails to MMIO, notifying nobody', () => {
    const vm = vmWithSlot([{ op: 'memslot-create', as: 0, slot: 1, base: 0x200000, npages: 0x200, flags: ['readonly'] }]);
    expect(exec(vm, { op: 'fault', as: 0, gfn: 0x200000, write: false }).value).toBe('mapped');
    expect(vm.state.sptes.covering(0, 0x200000)).toEqual({ as: 0, level: 2, gfn: 0x200000, writable: false });
    const w = exec(vm, { op: 'write', as: 0, gpa: 0x200000 * 4096, bytes: 4 });
    expect(w.value).toEqual(['mmio']);
    expect(effects(w)).toEqual([
      { type: 'fault', as: 0, gfn: 0x200000, write: true, present: true, outcome: 'emulate', hostWritable: true },
      { type: 'write', as: 0, gpa: 0x200000 * 4096, bytes: 4, via: 'guest', outcome: 'mmio' },
    ]);
  });

  it('dirty logging forces 4K mappings', () => {
    const vm = vmWithSlot([{ op: 'memslot-flags', as: 0, slot: 0, flags: 1 }]);
    exec(vm, { op: 'fault', as: 0, gfn: 0x10, write: true });
    expect(vm.state.sptes.covering(0, 0x10)).toEqual({ as: 0, level: 1, gfn: 0x10, writable: true });
  });
});

describe('writes (spec 5.3)', () => {
  it('three paths: direct through a writable SPTE, emulated with a notification per node, blind to nobody', () => {
    const vm = vmWithSlot([{ op: 'notifier-register', node: 'vgpu' }, { op: 'fault', as: 0, gfn: 0x10, write: true, hostLevel: 1 }]);
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x10008, bytes: 8 }))).toEqual([
      { type: 'write', as: 0, gpa: 0x10008, bytes: 8, via: 'guest', outcome: 'direct' },
    ]);
    exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: 0x10 });
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x10008, bytes: 8 }))).toEqual([
      { type: 'fault', as: 0, gfn: 0x10, write: true, present: true, outcome: 'emulate', hostWritable: true },
      { type: 'write', as: 0, gpa: 0x10008, bytes: 8, via: 'guest', outcome: 'emulated' },
      { type: 'notification', node: 'vgpu', as: 0, gpa: 0x10008, bytes: 8 },
      { type: 'notification', node: 'kvm-mmu', as: 0, gpa: 0x10008, bytes: 8 },
    ]);
    for (const via of ['write_std', 'kvm', 'userspace', 'dma']) {
      expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x10008, bytes: 8, via }))).toEqual([
        { type: 'write', as: 0, gpa: 0x10008, bytes: 8, via, outcome: 'blind' },
      ]);
    }
    expect(vm.state.tallies.notifications).toBe(2);
    expect(vm.state.tallies.writes).toEqual({ direct: 1, emulated: 1, mmio: 0, blind: 4 });
  });

  it('B23: emulated writes notify every node whether or not the page is tracked; split at page boundaries', () => {
    const vm = vmWithSlot([{ op: 'notifier-register', node: 'intro' }]);
    const r = exec(vm, { op: 'write', as: 0, gpa: 0x1ffc, bytes: 8, via: 'emulator' });
    expect(r.value).toEqual(['emulated', 'emulated']);
    expect(effects(r)).toEqual([
      { type: 'write', as: 0, gpa: 0x1ffc, bytes: 4, via: 'emulator', outcome: 'emulated' },
      { type: 'notification', node: 'intro', as: 0, gpa: 0x1ffc, bytes: 4 },
      { type: 'notification', node: 'kvm-mmu', as: 0, gpa: 0x1ffc, bytes: 4 },
      { type: 'write', as: 0, gpa: 0x2000, bytes: 4, via: 'emulator', outcome: 'emulated' },
      { type: 'notification', node: 'intro', as: 0, gpa: 0x2000, bytes: 4 },
      { type: 'notification', node: 'kvm-mmu', as: 0, gpa: 0x2000, bytes: 4 },
    ]);
    // Outside any slot the emulator's write fails: MMIO, nobody told.
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 2 ** 40, bytes: 4, via: 'emulator' }))).toEqual([
      { type: 'write', as: 0, gpa: 2 ** 40, bytes: 4, via: 'emulator', outcome: 'mmio' },
    ]);
  });

  it('lpage state is per slot: a huge level the counters allow is still capped by the host level', () => {
    const vm = vmWithSlot();
    exec(vm, { op: 'fault', as: 0, gfn: 0x400, write: true, hostLevel: 2 });
    expect(vm.state.sptes.covering(0, 0x400)).toEqual({ as: 0, level: 2, gfn: 0x400, writable: true });
    expect(lpage(vm, 0, 0, 2, 2)).toBe(0);
  });
});
