import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import { count, effects, exec, lpage, vmWithSlot } from './helpers.js';

const GFN = 0x1234; // 2M frame 9, 1G frame 0

describe('track add (spec 2.2)', () => {
  it('spec 2.2: count +1, lpage disallowed at 2M and 1G, nothing to write-protect, no flush', () => {
    const vm = vmWithSlot();
    const r = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: GFN });
    expect(effects(r)).toEqual([
      { type: 'track-count-step', as: 0, slot: 0, gfn: GFN, mode: 0, user: 'vgpu', delta: 1, count: 1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 9, gfn: GFN, delta: 1, value: 1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: GFN, delta: 1, value: 1 },
    ]);
    expect(count(vm, 0, 0, GFN)).toBe(1);
    expect(vm.state.tallies.tlbFlushes).toBe(0);
  });

  it('spec 2.2 step 5: write-protects the SPTE covering the gfn (even a 1 GiB one) and flushes once', () => {
    const vm = vmWithSlot([{ op: 'fault', as: 0, gfn: GFN, write: true }]);
    expect(vm.state.sptes.covering(0, GFN)).toEqual({ as: 0, level: 3, gfn: 0, writable: true });
    const r = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: GFN });
    expect(effects(r).slice(3)).toEqual([
      { type: 'spte-write-protected', as: 0, level: 3, gfn: 0, reason: 'track-add' },
      { type: 'tlb-flushed', reason: 'track-add' },
    ]);
    expect(vm.state.sptes.covering(0, GFN)).toEqual({ as: 0, level: 3, gfn: 0, writable: false });
    // A second add finds nothing writable: no flush (spec 2.2: flush only if something changed).
    const r2 = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: GFN });
    expect(r2.events.map((e) => e.type)).toEqual(['command', 'track-count-step', 'lpage-step', 'lpage-step']);
    expect(vm.state.tallies.tlbFlushes).toBe(1);
  });

  it('spec 2.2 step 1: an invalid mode WARNs and changes nothing (no lpage step, no write-protect)', () => {
    const vm = vmWithSlot([{ op: 'fault', as: 0, gfn: GFN, write: true }]);
    for (const mode of [1, -1, 7]) {
      const r = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: GFN, mode });
      expect(effects(r)).toEqual([
        { type: 'warn', kind: 'invalid-mode', fn: 'kvm_slot_page_track_add_page', printed: true, as: 0, slot: 0, gfn: GFN, mode, user: 'vgpu' },
      ]);
    }
    expect(lpage(vm, 0, 0, 2, 9)).toBe(0);
    expect(vm.state.sptes.covering(0, GFN)?.writable).toBe(true);
    expect(vm.state.tallies.warns['invalid-mode']).toBe(3);
  });

  it('spec 2.1 / B2 / B3: at 65535 the add WARNs and keeps the count, yet disallow_lpage still moves', () => {
    const vm = vmWithSlot();
    for (let i = 0; i < 65535; i++) exec(vm, { op: 'track-add', user: 'intro', as: 0, gfn: GFN });
    expect(count(vm, 0, 0, GFN)).toBe(65535);
    const r = exec(vm, { op: 'track-add', user: 'intro', as: 0, gfn: GFN });
    expect(effects(r)).toEqual([
      { type: 'warn', kind: 'gfn-track-overflow', fn: 'update_gfn_track', printed: true, as: 0, slot: 0, gfn: GFN, mode: 0, user: 'intro', value: 65535 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 9, gfn: GFN, delta: 1, value: 65536 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: GFN, delta: 1, value: 65536 },
    ]);
    expect(count(vm, 0, 0, GFN)).toBe(65535);
  });
});

describe('track remove (spec 2.3)', () => {
  it('spec 2.3: count -1 and lpage allowed; no flush and write access is not restored (B8)', () => {
    const vm = vmWithSlot([{ op: 'fault', as: 0, gfn: GFN, write: true }, { op: 'track-add', user: 'vgpu', as: 0, gfn: GFN }]);
    const r = exec(vm, { op: 'track-remove', user: 'vgpu', as: 0, gfn: GFN });
    expect(effects(r)).toEqual([
      { type: 'track-count-step', as: 0, slot: 0, gfn: GFN, mode: 0, user: 'vgpu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 9, gfn: GFN, delta: -1, value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: GFN, delta: -1, value: 0 },
    ]);
    expect(vm.state.sptes.covering(0, GFN)?.writable).toBe(false);
  });

  it('B3/B4: a remove at count 0 WARNs, keeps 0, still drops disallow_lpage and WARNs when it goes negative', () => {
    const vm = vmWithSlot();
    const r = exec(vm, { op: 'track-remove', user: 'vgpu', as: 0, gfn: GFN });
    expect(effects(r)).toEqual([
      { type: 'warn', kind: 'gfn-track-underflow', fn: 'update_gfn_track', printed: true, as: 0, slot: 0, gfn: GFN, mode: 0, user: 'vgpu', value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 9, gfn: GFN, delta: -1, value: -1 },
      { type: 'warn', kind: 'lpage-negative', fn: 'update_gfn_disallow_lpage_count', printed: true, as: 0, slot: 0, gfn: GFN, level: 2, index: 9, value: -1 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: GFN, delta: -1, value: -1 },
      { type: 'warn', kind: 'lpage-negative', fn: 'update_gfn_disallow_lpage_count', printed: true, as: 0, slot: 0, gfn: GFN, level: 3, index: 0, value: -1 },
    ]);
    expect(count(vm, 0, 0, GFN)).toBe(0);
    expect(lpage(vm, 0, 0, 2, 9)).toBe(-1);
  });

  it('spec 2.3: a stray remove consumes a slot-boundary guard and re-enables huge mappings', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0x100, npages: 0x400 }); // misaligned at both ends
    expect(lpage(vm, 0, 0, 2, 0)).toBe(1);
    exec(vm, { op: 'track-remove', user: 'vgpu', as: 0, gfn: 0x100 });
    expect(lpage(vm, 0, 0, 2, 0)).toBe(0);
    expect(exec(vm, { op: 'fault', as: 0, gfn: 0x100, write: true, hostLevel: 2 }).value).toBe('mapped');
    expect(vm.state.sptes.covering(0, 0x100)).toEqual({ as: 0, level: 2, gfn: 0, writable: true });
  });
});

describe('is_active (spec 3, 4.6 row)', () => {
  it('answers by the vCPU address space; a bad mode WARNs first and answers false; no slot is false', () => {
    const vm = vmWithSlot([{ op: 'track-add', user: 'vgpu', as: 0, gfn: GFN }]);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: GFN }).value).toBe(true);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: GFN + 1 }).value).toBe(false);
    expect(exec(vm, { op: 'is-active', as: 1, gfn: GFN }).value).toBe(false); // no SMM slot holds it (B12)
    const bad = exec(vm, { op: 'is-active', as: 0, gfn: GFN, mode: 3 });
    expect(bad.value).toBe(false);
    expect(effects(bad)).toEqual([
      { type: 'warn', kind: 'invalid-mode', fn: 'kvm_page_track_is_active', printed: true, as: 0, gfn: GFN, mode: 3 },
      { type: 'track-queried', as: 0, gfn: GFN, mode: 3, active: false },
    ]);
  });

  it('B12: a gfn tracked in the SMM slot reads untracked through address space 0', () => {
    const vm = vmWithSlot([{ op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 0x200 }, { op: 'track-add', user: 'vgpu', as: 1, gfn: 0x10 }]);
    expect(exec(vm, { op: 'is-active', as: 1, gfn: 0x10 }).value).toBe(true);
    expect(exec(vm, { op: 'is-active', as: 0, gfn: 0x10 }).value).toBe(false);
  });
});

describe('users (who tracks)', () => {
  it('kvm-mmu is reserved for shadow-page accounting', () => {
    const vm = vmWithSlot();
    const r = exec(vm, { op: 'track-add', user: 'kvm-mmu', as: 0, gfn: GFN });
    expect(r.ok).toBe(false);
    expect(r.rejection).toEqual({ field: 'user', reason: "'kvm-mmu' tracks pages only through its shadow pages (sp-create / sp-zap)" });
  });

  it('B22: a gfn outside the named slot, or a slot that does not exist, is rejected and changes nothing', () => {
    const vm = vmWithSlot([{ op: 'memslot-create', as: 0, slot: 1, base: 0x200000, npages: 16 }]);
    const before = vm.eventCount;
    const r = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, slot: 1, gfn: GFN });
    expect(r.rejection).toEqual({ field: 'gfn', reason: 'gfn 0x1234 is outside slot 1 of address space 0 (base 0x200000, 16 pages) (docs/reference.md#B22: gfn_to_index would index out of bounds)' });
    expect(effects(r)).toEqual([
      { type: 'command-rejected', op: 'track-add', field: 'gfn', reason: r.rejection!.reason },
    ]);
    const r2 = exec(vm, { op: 'track-add', user: 'vgpu', as: 0, slot: 7, gfn: GFN });
    expect(r2.rejection).toEqual({ field: 'slot', reason: 'memslot 7 does not exist in address space 0 (docs/reference.md#B22)' });
    expect(vm.eventCount).toBe(before + 2);
    expect(count(vm, 0, 0, GFN)).toBe(0);
    expect(vm.state.tallies.rejected).toBe(2);
  });
});
