import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { LINUX_4_19, getProfile } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { replay } from '../src/projections/replay.js';
import { snapshot } from '../src/projections/snapshot.js';
import { scriptArb } from './arbitraries.js';
import { cmd, count, effects, exec } from './helpers.js';

function vm419(extra: Array<Record<string, unknown>> = []): PageTrackVm {
  const vm = new PageTrackVm({ profile: 'linux-4.19' });
  for (const c of [{ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 }, ...extra]) expect(exec(vm, c).ok).toBe(true);
  return vm;
}

describe('linux-4.19 profile (spec 9, ~4.10-4.19 column)', () => {
  it('is a known profile; the default stays linux-4.6', () => {
    expect(getProfile('linux-4.19')).toBe(LINUX_4_19);
    expect(new PageTrackVm().profile.name).toBe('linux-4.6');
    expect(() => getProfile('linux-5.0')).toThrow("unknown kernel profile 'linux-5.0' (known: linux-4.6, linux-4.19, linux-5.7, linux-5.16, linux-6.1, linux-6.6, linux-6.8, linux-6.9)");
  });

  it('spec 5.5: DELETE sends track_flush_slot to every node, newest first; KVM\'s node zaps everything there', () => {
    const vm = vm419([{ op: 'notifier-register', node: 'vgpu' }, { op: 'sp-create', as: 0, gfn: 0x20, level: 2 }]);
    const r = exec(vm, { op: 'memslot-delete', as: 0, slot: 0 });
    expect(effects(r)).toEqual([
      { type: 'slot-flush-notified', node: 'vgpu', as: 0, slot: 0 },
      { type: 'slot-flush-notified', node: 'kvm-mmu', as: 0, slot: 0 },
      { type: 'mmu-zapped-all', reason: 'memslot-delete' },
      { type: 'sp-zapped', sp: 1, reason: 'zap-all' },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x20, mode: 0, user: 'kvm-mmu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 0, gfn: 0x20, delta: -1, value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x20, delta: -1, value: 1 },
      { type: 'tlb-flushed', reason: 'zap-all' },
      { type: 'memslot-deleted', as: 0, slot: 0 },
    ]);
    expect(vm.state.tallies.slotFlushes).toBe(2);
  });

  it('B14: MOVE still carries the counts over after the flush', () => {
    const vm = vm419([{ op: 'notifier-register', node: 'vgpu' }, { op: 'track-add', user: 'vgpu', as: 0, gfn: 0x10 }]);
    const r = exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x1000 });
    expect(effects(r).map((e) => e.type)).toEqual(['slot-flush-notified', 'slot-flush-notified', 'mmu-zapped-all', 'memslot-moved']);
    expect(count(vm, 0, 0, 0x1010)).toBe(1);
  });

  it('B15: a flush is speculative: when prepare fails the slot survives, but KVM\'s zap is not undone', () => {
    const vm = vm419([{ op: 'notifier-register', node: 'vgpu' }, { op: 'track-add', user: 'vgpu', as: 0, gfn: 0x10 }, { op: 'sp-create', as: 0, gfn: 0x20, level: 2 }]);
    const r = exec(vm, { op: 'memslot-delete', as: 0, slot: 0, prepareFails: true });
    expect(effects(r).at(-1)).toEqual({ type: 'memslot-change-failed', as: 0, slot: 0, op: 'memslot-delete' });
    expect(vm.state.memslots.get(0, 0)).toBeDefined();
    expect(count(vm, 0, 0, 0x10)).toBe(1); // the vgpu's own tracking stays unless its handler drops it
    expect(count(vm, 0, 0, 0x20)).toBe(0); // KVM's shadow page was zapped and unaccounted
    expect(vm.state.shadowPages.pages.size).toBe(0);
  });

  it('linux-4.6 has no track_flush_slot; prepare can still fail after the zap-all', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 });
    exec(vm, { op: 'notifier-register', node: 'vgpu' });
    const r = exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x1000, prepareFails: true });
    expect(effects(r).map((e) => e.type)).toEqual(['mmu-zapped-all', 'memslot-change-failed']);
    expect(vm.state.memslots.get(0, 0)!.base).toBe(0);
  });

  it('replaying a 4.19 log rebuilds the live state (fast-check)', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const vm = new PageTrackVm({ profile: 'linux-4.19' });
        for (const c of script) vm.execute(cmd(c));
        const events = vm.log!.events.map((e) => JSON.parse(JSON.stringify(e)));
        expect(snapshot(replay(from([events]), 'linux-4.19'), ['write'])).toEqual(snapshot(vm.state, ['write']));
      }),
      { numRuns: 100 },
    );
  });
});
