/**
 * shadow-mmu (linux-4.6): KVM's own tracking under shadow paging (spec 5.1, 5.2, 5.4). Guest
 * processes with 4-level page tables map, touch and unmap memory and are switched between; the
 * vCPU's walks create or reuse shadow pages for the page-table pages; guest writes to shadowed
 * upper-level tables fault and are emulated, and KVM's write handler zaps on misaligned or
 * flooding writes; leaf tables are written directly.
 */
import type { PageTrackVm } from '../domain/vm.js';
import { Driver, type WorkloadOptions, type WorkloadResult } from './driver.js';
import { inject } from './inject.js';

const RAM = 0x40000; // 1 GiB
const POOL = 0x1000; // page-table pages come from here
const DATA = 0x10000;

interface Proc {
  readonly tables: Map<string, number>; // "level/index" -> gfn of the guest page-table page
}

export function shadowMmu(vm: PageTrackVm, o: WorkloadOptions): WorkloadResult {
  const d = new Driver(vm, o);
  d.run({ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: RAM, flags: 0, uaddr: 0 });
  d.run({ op: 'memslot-create', as: 1, slot: 0, base: 0xa0, npages: 0x20, flags: 0, uaddr: 0xa0000 });
  let nextTable = 0;
  // Page-table pages cycle through the pool (a freed table's gfn is reused later).
  const allocTable = () => POOL + (nextTable++ % (DATA - POOL));
  const shadowed = new Map<number, number>(); // table gfn -> sp id
  const procs: Proc[] = [];
  const newProc = (): Proc => ({ tables: new Map([['4/0', allocTable()]]) });
  for (let i = 0; i < 6; i++) procs.push(newProc());
  const table = (p: Proc, level: number, index: number) => {
    const key = `${level}/${index}`;
    let g = p.tables.get(key);
    if (g === undefined) p.tables.set(key, (g = allocTable()));
    return g;
  };
  // The vCPU walks a process's tables for a virtual page: shadow pages are created on first use.
  const walk = (p: Proc, vpage: number) => {
    for (const [level, index] of [
      [4, 0],
      [3, vpage >> 18],
      [2, vpage >> 9],
      [1, vpage],
    ] as const) {
      const g = level === 1 ? table(p, 1, vpage >> 9) : table(p, level, index);
      const sp = shadowed.get(g);
      if (sp !== undefined && vm.state.shadowPages.pages.has(sp)) d.run({ op: 'sp-use', sp });
      else shadowed.set(g, d.run({ op: 'sp-create', as: 0, gfn: g, level, direct: false, vcpuAs: 0 }).value as number);
    }
  };
  let injected: { bug: NonNullable<WorkloadOptions['inject']>; cmd: number } | undefined;
  let current = procs[0]!;
  while (!d.full) {
    if (o.inject && !injected && vm.eventCount >= o.events / 2) injected = { bug: o.inject, cmd: inject(d, o.inject, DATA + 7) };
    const r = d.rnd();
    const vpage = d.pick(1 << 12);
    if (r < 0.35) {
      // Touch memory: walk, then fault the data page in and store to it.
      walk(current, vpage);
      const data = DATA + ((vpage * 7 + procs.indexOf(current) * 4096) % (RAM - DATA));
      d.run({ op: 'fault', as: 0, gfn: data, write: d.chance(0.5), hostLevel: 1 });
      d.run({ op: 'write', as: 0, gpa: data * 4096 + 8 * d.pick(512), bytes: 8, via: 'guest', hostLevel: 1 });
    } else if (r < 0.6) {
      // The guest updates a PTE in a leaf table (not write-tracked: a direct store once mapped).
      const g = table(current, 1, vpage >> 9);
      d.run({ op: 'write', as: 0, gpa: g * 4096 + 8 * d.pick(512), bytes: 8, via: 'guest', hostLevel: 1 });
    } else if (r < 0.85) {
      // Mapping a new region writes an upper-level entry: tracked, so it faults and is emulated;
      // now and then with a misaligned store (KVM zaps the shadow page, spec 5.4).
      const level = 2 + d.pick(2);
      const g = table(current, level, level === 2 ? vpage >> 9 : vpage >> 18);
      const misaligned = d.chance(0.05);
      d.run({ op: 'write', as: 0, gpa: g * 4096 + (misaligned ? 4 : 8 * d.pick(512)), bytes: misaligned ? 8 : 8, via: 'guest', hostLevel: 1 });
    } else if (r < 0.97) {
      // Context switch.
      current = procs[d.pick(procs.length)]!;
      walk(current, 0);
    } else {
      // A process exits: its shadow pages are zapped; a new one starts.
      for (const g of current.tables.values()) {
        const sp = shadowed.get(g);
        if (sp !== undefined && vm.state.shadowPages.pages.has(sp)) d.run({ op: 'sp-zap', sp });
        shadowed.delete(g);
      }
      const i = procs.indexOf(current);
      procs[i] = current = newProc();
    }
  }
  return d.result(injected);
}
