/**
 * vgpu (linux-4.19 and later): a KVMGT-style external user (spec 5.6). It registers its node,
 * write-tracks the guest's GPU page-table (GTT) pages through its own dedup table, handles the
 * writes it is told of, and tears down. When the VMM changes the aperture slot, <= 6.5 KVMGT
 * drops its tracking in track_flush_slot and the VMM moves the slot; 6.6+ refuses a MOVE while
 * KVMGT is attached, so the VMM deletes and re-creates the slot and KVMGT drops only its table
 * entries in track_remove_region (the counters go with the slot: kvmgt_page_track_remove_region).
 */
import type { PageTrackVm } from '../domain/vm.js';
import { Driver, type WorkloadOptions, type WorkloadResult } from './driver.js';
import { inject } from './inject.js';

const RAM = 0x40000;
const APERTURE = { slot: 1, base: 0x80000, npages: 0x800 }; // a second slot that moves and comes back
const NODE = 'vgpu0';

export function vgpu(vm: PageTrackVm, o: WorkloadOptions): WorkloadResult {
  const d = new Driver(vm, o);
  d.run({ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: RAM, flags: 0, uaddr: 0 });
  let aperture = APERTURE.base;
  d.run({ op: 'memslot-create', as: 0, slot: APERTURE.slot, base: aperture, npages: APERTURE.npages, flags: 0, uaddr: aperture * 4096 });
  const table = new Set<number>(); // kvmgt_gfn_is_write_protected
  const list: number[] = []; // the same gfns, to pick one at random in O(1)
  const drop = (g: number) => {
    table.delete(g);
    const i = list.indexOf(g);
    list[i] = list[list.length - 1]!;
    list.pop();
  };
  let handled = 0;
  vm.attach(NODE, {
    trackWrite: (w) => {
      if (table.has(Math.floor(w.gpa / 4096))) handled++; // intel_vgpu_page_track_handler
    },
    trackFlushSlot: (slot, api) => {
      for (const g of [...table]) {
        if (g >= slot.base && g < slot.base + slot.npages) {
          api.trackRemove(g);
          drop(g);
        }
      }
    },
    trackRemoveRegion: (slot) => {
      for (const g of [...table]) if (g >= slot.base && g < slot.base + slot.npages) drop(g);
    },
  });
  const removeRegion = vm.profile.removeRegionOnDelete;
  d.run({ op: 'notifier-register', node: NODE });
  const gttPage = () => (d.chance(0.8) ? 0x20000 + d.pick(0x400) : aperture + d.pick(APERTURE.npages));
  const protect = (g: number) => {
    if (table.has(g)) return;
    table.add(g);
    list.push(g);
    d.run({ op: 'track-add', user: NODE, as: 0, gfn: g });
  };
  const unprotect = (g: number) => {
    if (!table.has(g)) return;
    drop(g);
    d.run({ op: 'track-remove', user: NODE, as: 0, gfn: g });
  };
  let injected: { bug: NonNullable<WorkloadOptions['inject']>; cmd: number } | undefined;
  while (!d.full) {
    if (o.inject && !injected && vm.eventCount >= o.events / 2) injected = { bug: o.inject, cmd: inject(d, o.inject, 0x30007) };
    const r = d.rnd();
    if (r < 0.3) protect(gttPage());
    else if (r < 0.75) {
      // The guest driver updates GTT entries: tracked pages fault and are emulated, then every node hears.
      const g = gttPage();
      d.run({ op: 'write', as: 0, gpa: g * 4096 + 8 * d.pick(512), bytes: 8, via: d.chance(0.7) ? 'guest' : 'emulator', hostLevel: 2 });
    } else if (r < 0.95) {
      if (list.length) unprotect(list[d.pick(list.length)]!);
    } else if (r < 0.99) {
      d.run({ op: 'fault', as: 0, gfn: d.pick(RAM), write: d.chance(0.5), hostLevel: 2 });
    } else {
      // The VMM moves the aperture: <= 6.5 a MOVE (track_flush_slot first: the node drops its
      // pages there); 6.6+ a DELETE (track_remove_region after it) and a CREATE at the new base.
      aperture = aperture === APERTURE.base ? APERTURE.base + 0x10000 : APERTURE.base;
      if (!removeRegion) d.run({ op: 'memslot-move', as: 0, slot: APERTURE.slot, base: aperture });
      else {
        d.run({ op: 'memslot-delete', as: 0, slot: APERTURE.slot });
        d.run({ op: 'memslot-create', as: 0, slot: APERTURE.slot, base: aperture, npages: APERTURE.npages, flags: 0, uaddr: APERTURE.base * 4096 });
      }
    }
  }
  // Teardown: kvmgt_guest_exit drops the table, then unregisters.
  for (const g of [...table]) unprotect(g);
  d.run({ op: 'notifier-unregister', node: NODE });
  vm.detach(NODE);
  void handled;
  return d.result(injected);
}
