import { describe, expect, it } from 'vitest';
import { initialGuards } from '../src/domain/kernel/lpage.js';
import { gfnToIndex, lpageCount, splitAtPages } from '../src/domain/gfn.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { count, effects, exec, lpage, vmWithSlot } from './helpers.js';

describe('index arithmetic (spec 1.2, 1.3)', () => {
  it('gfn_to_index is relative to the base frame at each level', () => {
    expect(gfnToIndex(0x1234, 0, 1)).toBe(0x1234);
    expect(gfnToIndex(0x1234, 0x1000, 1)).toBe(0x234);
    expect(gfnToIndex(0x1234, 0x1000, 2)).toBe(1); // frames 9 - 8
    expect(gfnToIndex(0x40000, 0x3ffff, 3)).toBe(1);
    expect(gfnToIndex(2 ** 39 + 5, 2 ** 39, 3)).toBe(0); // past 32-bit shifts
  });
  it('lpage arrays have gfn_to_index(base + npages - 1) + 1 entries', () => {
    expect(lpageCount(0, 512, 2)).toBe(1);
    expect(lpageCount(1, 512, 2)).toBe(2);
    expect(lpageCount(0x100, 0x400, 2)).toBe(3);
    expect(lpageCount(0, 1 << 20, 3)).toBe(4);
  });
  it('writes split at page boundaries (spec 5.3)', () => {
    expect(splitAtPages(0x1ffc, 8)).toEqual([
      { gpa: 0x1ffc, bytes: 4 },
      { gpa: 0x2000, bytes: 4 },
    ]);
    expect(splitAtPages(0x2000, 4096)).toEqual([{ gpa: 0x2000, bytes: 4096 }]);
  });
});

describe('memslot create (spec 1.3, 1.5)', () => {
  it('spec 1.3: guards are assignments to 1: a 1-entry slot misaligned at both ends gets 1, not 2', () => {
    const vm = new PageTrackVm();
    const r = exec(vm, { op: 'memslot-create', as: 0, slot: 3, base: 0x10, npages: 0x20 });
    expect(effects(r)).toEqual([
      { type: 'memslot-created', as: 0, slot: 3, base: 0x10, npages: 0x20, flags: 0, uaddr: 0x10000 },
      { type: 'lpage-guard', as: 0, slot: 3, level: 2, from: 0, to: 0, why: 'base-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 3, level: 2, from: 0, to: 0, why: 'end-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 3, level: 3, from: 0, to: 0, why: 'base-misaligned' },
      { type: 'lpage-guard', as: 0, slot: 3, level: 3, from: 0, to: 0, why: 'end-misaligned' },
    ]);
    expect(lpage(vm, 0, 3, 2, 0)).toBe(1);
    expect(lpage(vm, 0, 3, 3, 0)).toBe(1);
  });

  it('spec 1.3: a userspace address misaligned with the base disables every huge frame of that level', () => {
    // base 2M-aligned, uaddr only 4K-aligned: level 2 and 3 all 1; ends aligned at 2M but not at 1G.
    expect(initialGuards(0x200, 0x400, 0x1000)).toEqual([
      { level: 2, from: 0, to: 1, why: 'uaddr-misaligned' },
      { level: 3, from: 0, to: 0, why: 'base-misaligned' },
      { level: 3, from: 0, to: 0, why: 'end-misaligned' },
      { level: 3, from: 0, to: 0, why: 'uaddr-misaligned' },
    ]);
    // uaddr congruent with base modulo 1G (so modulo 2M too): only the end guards remain.
    expect(initialGuards(0x200, 0x400, 0x7fe00200 * 4096)).toEqual([
      { level: 3, from: 0, to: 0, why: 'base-misaligned' },
      { level: 3, from: 0, to: 0, why: 'end-misaligned' },
    ]);
    // congruent modulo 2M only: the 1G level is still guarded in full.
    expect(initialGuards(0x200, 0x400, 0x7fe10200 * 4096).map((g) => g.why)).toEqual(['base-misaligned', 'end-misaligned', 'uaddr-misaligned']);
  });

  it('counts take 2 bytes per page per mode: a 64 GiB slot holds 32 MiB of counts', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 16 * 1024 * 1024 });
    const s = vm.state.memslots.get(0, 0)!;
    expect(s.track).toHaveLength(1);
    expect(s.track[0]!.byteLength).toBe(32 * 1024 * 1024);
  });

  it('rejects duplicates, overlaps (-EEXIST) and unknown flags (-EINVAL) with exact reasons', () => {
    const vm = vmWithSlot();
    expect(exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0x200000, npages: 1 }).rejection).toEqual({
      field: 'slot',
      reason: 'memslot 0 already exists in address space 0; use memslot-move, memslot-flags or memslot-delete',
    });
    expect(exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0xfffff, npages: 2 }).rejection).toEqual({
      field: 'base',
      reason: '[0xfffff, 0x100001) overlaps slot 0 of address space 0 (base 0x0, 1048576 pages) (kernel: -EEXIST)',
    });
    expect(exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x100000, npages: 2, flags: 4 }).rejection).toEqual({
      field: 'flags',
      reason: 'unknown flag bits 0x4 (valid: 1 log-dirty-pages, 2 readonly; kernel: -EINVAL)',
    });
    // Address spaces are separate: the same range in SMM is fine.
    expect(exec(vm, { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 16 }).ok).toBe(true);
    expect(vm.state.memslots.slots.size).toBe(2);
  });
});

describe('memslot flags-only, move and delete (spec 1.5, 5.5)', () => {
  it('FLAGS_ONLY keeps the arrays: counts and lpage survive; readonly cannot change (-EINVAL)', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: 5 }]);
    const r = exec(vm, { op: 'memslot-flags', as: 0, slot: 0, flags: ['log-dirty-pages'] });
    expect(effects(r)).toEqual([{ type: 'memslot-flags-changed', as: 0, slot: 0, flags: 1, old: 0 }]);
    expect(count(vm, 0, 0, 5)).toBe(1);
    expect(lpage(vm, 0, 0, 2, 0)).toBe(1);
    expect(exec(vm, { op: 'memslot-flags', as: 0, slot: 0, flags: 3 }).rejection).toEqual({
      field: 'flags',
      reason: 'the readonly flag cannot change on an existing slot (kernel: -EINVAL)',
    });
  });

  it('spec 1.5 / B14: a 4.6 MOVE zaps everything, then carries counts over: they shift with the base', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 });
    exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: 0x10 });
    exec(vm, { op: 'sp-create', as: 0, gfn: 0x20, level: 2 });
    exec(vm, { op: 'fault', as: 0, gfn: 0x300, write: true });
    const r = exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x1000 });
    expect(effects(r)).toEqual([
      { type: 'mmu-zapped-all', reason: 'memslot-move' },
      { type: 'sp-zapped', sp: 1, reason: 'zap-all' },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x20, mode: 0, user: 'kvm-mmu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 0, gfn: 0x20, delta: -1, value: 1 },
      // 1G: end guard 1 + vgpu 1 + kvm-mmu 1, now 2.
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x20, delta: -1, value: 2 },
      { type: 'spte-zapped', as: 0, level: 2, gfn: 0x200, reason: 'zap-all' },
      { type: 'tlb-flushed', reason: 'zap-all' },
      { type: 'memslot-moved', as: 0, slot: 0, base: 0x1000, old: 0, arrays: 'carried' },
    ]);
    // vgpu's count at index 0x10 now belongs to gfn 0x1010: the kernel carried the array over.
    expect(count(vm, 0, 0, 0x1010)).toBe(1);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: 0x1010 }).value).toBe(true);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: 0x10 }).value).toBe(false);
  });

  it('B22: a MOVE whose base needs larger lpage arrays is rejected; overlaps too', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 }); // 2 entries at 2M
    exec(vm, { op: 'memslot-create', as: 0, slot: 1, base: 0x10000, npages: 0x10 });
    expect(exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x100 }).rejection).toEqual({
      field: 'base',
      reason: 'moving to 0x100 needs 3 level-2 lpage entries but the carried-over array has 2 (docs/reference.md#B22: out-of-bounds lpage_info in 4.6)',
    });
    expect(exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0xfe00 }).rejection?.reason).toBe(
      '[0xfe00, 0x10200) overlaps slot 1 of address space 0 (base 0x10000, 16 pages) (kernel: -EEXIST)',
    );
    expect(exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x200 }).ok).toBe(true);
  });

  it('spec 5.5: DELETE zaps all shadow pages (unaccounting each once) and all SPTEs, then frees the arrays', () => {
    const vm = vmWithSlot([
      { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 0x100 },
      { op: 'sp-create', as: 0, gfn: 0x40, level: 1 },
      { op: 'sp-create', as: 1, gfn: 0x41, level: 3 },
      { op: 'fault', as: 1, gfn: 0x50, write: false },
    ]);
    const r = exec(vm, { op: 'memslot-delete', as: 1, slot: 0 });
    expect(r.events.map((e) => e.type)).toEqual([
      'command',
      'mmu-zapped-all',
      'sp-zapped',
      'lpage-step',
      'lpage-step',
      'sp-zapped',
      'track-count-step',
      'lpage-step',
      'lpage-step',
      'spte-zapped',
      'tlb-flushed',
      'memslot-deleted',
    ]);
    expect(vm.state.shadowPages.pages.size).toBe(0);
    expect(vm.state.shadowPages.indirect).toBe(0);
    expect(vm.state.sptes.size).toBe(0);
    expect(vm.state.memslots.get(1, 0)).toBeUndefined();
    expect(exec(vm, { op: 'memslot-delete', as: 1, slot: 0 }).rejection).toEqual({
      field: 'slot',
      reason: 'memslot 0 does not exist in address space 1 (kernel: -EINVAL)',
    });
  });
});
