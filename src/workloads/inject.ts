/**
 * Classic page-tracking bugs, injected on purpose by a user of their own, so the audit has
 * something to find at a known command (README, "Workloads").
 */
import type { Driver, InjectedBug } from './driver.js';

/** Injects `bug` now; returns the command where the audit should see it start. */
export function inject(d: Driver, bug: InjectedBug, gfnInSlot0: number): number {
  const s = d.vm.state;
  switch (bug) {
    case 'unbalanced-remove': {
      // A remove with no add of its own: B2 at count 0, B1 when it takes another user's unit.
      return d.run({ op: 'track-remove', user: 'buggy', as: 0, gfn: gfnInSlot0 }).cmd;
    }
    case 'leak-at-unregister': {
      d.run({ op: 'notifier-register', node: 'leaky' });
      d.run({ op: 'track-add', user: 'leaky', as: 0, gfn: gfnInSlot0 });
      return d.run({ op: 'notifier-unregister', node: 'leaky' }).cmd;
    }
    case 'late-registration': {
      const at = d.run({ op: 'track-add', user: 'latecomer', as: 0, gfn: gfnInSlot0 }).cmd;
      d.run({ op: 'notifier-register', node: 'latecomer' });
      d.run({ op: 'track-remove', user: 'latecomer', as: 0, gfn: gfnInSlot0 });
      d.run({ op: 'notifier-unregister', node: 'latecomer' });
      return at;
    }
    case 'counter-overflow': {
      d.run({ op: 'notifier-register', node: 'flood' });
      const slot = s.memslots.find(0, gfnInSlot0)!;
      const already = slot.track[0]![gfnInSlot0 - slot.base]!;
      let at = 0;
      for (let i = already; i <= 0xffff; i++) at = d.run({ op: 'track-add', user: 'flood', as: 0, gfn: gfnInSlot0 }).cmd;
      for (let i = already; i < 0xffff; i++) d.run({ op: 'track-remove', user: 'flood', as: 0, gfn: gfnInSlot0 });
      d.run({ op: 'notifier-unregister', node: 'flood' });
      return at;
    }
    case 'deleted-slot-tracking': {
      // A slot of its own, tracked and then deleted with the tracking still in place (B13).
      const id = 300;
      const base = 0x7f000000;
      d.run({ op: 'memslot-create', as: 0, slot: id, base, npages: 16, flags: 0, uaddr: base * 4096 });
      d.run({ op: 'notifier-register', node: 'stale' });
      d.run({ op: 'track-add', user: 'stale', as: 0, gfn: base + 3 });
      const at = d.run({ op: 'memslot-delete', as: 0, slot: id }).cmd;
      d.run({ op: 'notifier-unregister', node: 'stale' });
      return at;
    }
  }
}
