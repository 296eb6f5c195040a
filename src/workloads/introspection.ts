/**
 * introspection (linux-4.19): an agent that write-protects a guest kernel's code and critical
 * data pages and reports every write to them, including writes that reach it through no
 * notification (spec 5.3 blind spots: write_std task-switch saves, KVM's own writes, DMA).
 */
import type { PageTrackVm } from '../domain/vm.js';
import { Driver, type WorkloadOptions, type WorkloadResult } from './driver.js';
import { inject } from './inject.js';

const RAM = 0x40000;
const KERNEL_TEXT = { base: 0x1000, pages: 0x200 };
const CRITICAL = { base: 0x3000, pages: 0x40 }; // IDT, syscall table, ...
const NODE = 'intro';

export function introspection(vm: PageTrackVm, o: WorkloadOptions): WorkloadResult {
  const d = new Driver(vm, o);
  d.run({ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: RAM, flags: 0, uaddr: 0 });
  const reported: number[] = [];
  vm.attach(NODE, {
    trackWrite: (w) => {
      const g = Math.floor(w.gpa / 4096);
      if (protectedSet.has(g)) reported.push(g);
    },
  });
  const protectedSet = new Set<number>();
  d.run({ op: 'notifier-register', node: NODE });
  for (const r of [KERNEL_TEXT, CRITICAL]) {
    for (let g = r.base; g < r.base + r.pages; g++) {
      protectedSet.add(g);
      d.run({ op: 'track-add', user: NODE, as: 0, gfn: g });
    }
  }
  const target = () => (d.chance(0.5) ? KERNEL_TEXT.base + d.pick(KERNEL_TEXT.pages) : CRITICAL.base + d.pick(CRITICAL.pages));
  let injected: { bug: NonNullable<WorkloadOptions['inject']>; cmd: number } | undefined;
  while (!d.full) {
    if (o.inject && !injected && vm.eventCount >= o.events / 2) injected = { bug: o.inject, cmd: inject(d, o.inject, 0x30007) };
    const r = d.rnd();
    if (r < 0.45) {
      // The guest runs and writes memory; most of it is not protected.
      const g = d.chance(0.3) ? target() : 0x10000 + d.pick(RAM - 0x10000);
      d.run({ op: 'write', as: 0, gpa: g * 4096 + 8 * d.pick(512), bytes: 8, via: 'guest', hostLevel: 2 });
    } else if (r < 0.6) {
      // Writes no notifier sees: the agent learns of them only from the log (B10, reported as info).
      const via = (['write_std', 'kvm', 'dma'] as const)[d.pick(3)]!;
      d.run({ op: 'write', as: 0, gpa: target() * 4096 + 8 * d.pick(512), bytes: 8, via, hostLevel: 2 });
    } else if (r < 0.85) {
      d.run({ op: 'fault', as: 0, gfn: d.pick(RAM), write: d.chance(0.3), hostLevel: 2 });
    } else if (r < 0.93) {
      d.run({ op: 'is-active', as: 0, gfn: target() });
    } else {
      // Protection follows the guest: a page of module text comes and goes.
      const g = 0x5000 + d.pick(0x100);
      if (protectedSet.has(g)) {
        protectedSet.delete(g);
        d.run({ op: 'track-remove', user: NODE, as: 0, gfn: g });
      } else {
        protectedSet.add(g);
        d.run({ op: 'track-add', user: NODE, as: 0, gfn: g });
      }
    }
  }
  for (const g of [...protectedSet]) d.run({ op: 'track-remove', user: NODE, as: 0, gfn: g });
  d.run({ op: 'notifier-unregister', node: NODE });
  vm.detach(NODE);
  return d.result(injected);
}
