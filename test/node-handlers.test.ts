import { describe, expect, it } from 'vitest';
import { Auditor } from '../src/audit/auditor.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { count, effects, exec } from './helpers.js';

/** A KVMGT-like node (spec 5.6): its own table of protected gfns, dropped on track_flush_slot. */
function vgpu(vm: PageTrackVm, node = 'vgpu') {
  const table = new Set<number>();
  const heard: number[] = [];
  vm.attach(node, {
    trackWrite: (w) => {
      const gfn = Math.floor(w.gpa / 4096);
      if (table.has(gfn)) heard.push(gfn); // nodes filter by gfn themselves (B23)
    },
    trackFlushSlot: (slot, api) => {
      for (const gfn of [...table]) {
        if (gfn >= slot.base && gfn < slot.base + slot.npages) {
          api.trackRemove(gfn);
          table.delete(gfn);
        }
      }
    },
  });
  return {
    table,
    heard,
    protect: (gfn: number) => {
      if (table.has(gfn)) return; // the dedup table (spec 5.6)
      table.add(gfn);
      exec(vm, { op: 'track-add', user: node, as: 0, gfn });
    },
  };
}

describe('in-kernel node callbacks (spec 4.4, 5.6)', () => {
  it('track_flush_slot: a KVMGT-like node drops its tracking inside the DELETE, before KVM zaps (linux-4.19)', () => {
    const vm = new PageTrackVm({ profile: 'linux-4.19' });
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 });
    exec(vm, { op: 'notifier-register', node: 'vgpu' });
    const g = vgpu(vm);
    g.protect(5);
    g.protect(5);
    g.protect(7);
    const r = exec(vm, { op: 'memslot-delete', as: 0, slot: 0 });
    expect(effects(r).map((e) => `${e.type}${e.user ? `:${e.user}:${e.gfn}:${e.delta}` : ''}${e.node ? `:${e.node}` : ''}`)).toEqual([
      'slot-flush-notified:vgpu',
      'track-count-step:vgpu:5:-1',
      'lpage-step',
      'lpage-step',
      'track-count-step:vgpu:7:-1',
      'lpage-step',
      'lpage-step',
      'slot-flush-notified:kvm-mmu',
      'mmu-zapped-all',
      'memslot-deleted',
    ]);
    const a = new Auditor('linux-4.19');
    for (const e of vm.log!.events) a.see(e);
    expect(a.finish().findings).toEqual([]); // nothing left on the deleted slot (no B13)
  });

  it('B15: when the change then fails, the slot survives without the protection its node dropped', () => {
    const vm = new PageTrackVm({ profile: 'linux-4.19' });
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 });
    exec(vm, { op: 'notifier-register', node: 'vgpu' });
    const g = vgpu(vm);
    g.protect(5);
    exec(vm, { op: 'memslot-move', as: 0, slot: 0, base: 0x1000, prepareFails: true });
    expect(vm.state.memslots.get(0, 0)!.base).toBe(0);
    expect(count(vm, 0, 0, 5)).toBe(0);
    expect(exec(vm, { op: 'write', as: 0, gpa: 5 * 4096, bytes: 8, via: 'guest' }).value).toEqual(['direct']);
    const a = new Auditor('linux-4.19');
    for (const e of vm.log!.events) a.see(e);
    expect(a.finish().findings.map((f) => f.class)).toEqual(['B15']);
  });

  it('track_write: every registered node is called, in dispatch order, inside the write; nodes filter by gfn', () => {
    const vm = new PageTrackVm();
    exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x400 });
    exec(vm, { op: 'notifier-register', node: 'vgpu' });
    const order: string[] = [];
    const g = vgpu(vm);
    vm.attach('intro', { trackWrite: (w, api) => (order.push(`intro@${w.gpa}`), api.trackAdd(Math.floor(w.gpa / 4096))) });
    exec(vm, { op: 'notifier-register', node: 'intro' });
    g.protect(3);
    const r = exec(vm, { op: 'write', as: 0, gpa: 3 * 4096, bytes: 8, via: 'emulator' });
    expect(order).toEqual([`intro@${3 * 4096}`]);
    expect(g.heard).toEqual([3]);
    // intro's add happened inside the write command, between its notification and vgpu's.
    expect(effects(r).map((e) => (e.type === 'notification' ? `notify:${e.node}` : e.type))).toEqual([
      'write',
      'notify:intro',
      'track-count-step',
      'lpage-step',
      'lpage-step',
      'notify:vgpu',
      'notify:kvm-mmu',
    ]);
    expect(count(vm, 0, 0, 3)).toBe(2);
    expect(() => vm.attach('kvm-mmu', {})).toThrow("'kvm-mmu' is KVM's own node; its handling is built in");
  });
});
