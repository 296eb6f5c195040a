/**
 * Model-vs-model: a deliberately naive reading of the spec (maps keyed by absolute gfn and
 * frame, no typed arrays, no events) against pagetrack, on random command sequences.
 * Covered: memslot create/delete (spec 1.3, 1.5), track add/remove (spec 2), notifier
 * order and emulated-write dispatch (spec 4.3, 4.4, 5.3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import { parseCommand } from '../src/script/command-schema.js';

type Cmd = Record<string, number | string>;

class Reference {
  slots = new Map<string, { as: number; id: number; base: number; npages: number; counts: Map<number, number>; lpage: Map<string, number> }>();
  warns = { mode: 0, over: 0, under: 0, lpageNeg: 0 };
  nodes = ['kvm-mmu'];
  heard: string[] = [];

  run(c: Cmd): void {
    const as = c.as as number;
    switch (c.op) {
      case 'memslot-create': {
        const base = c.base as number;
        const npages = c.npages as number;
        if (this.slots.has(`${as}/${c.slot}`)) return;
        for (const s of this.slots.values()) if (s.as === as && base < s.base + s.npages && s.base < base + npages) return;
        const lpage = new Map<string, number>();
        for (const level of [2, 3]) {
          const span = level === 2 ? 512 : 512 * 512;
          const first = Math.floor(base / span);
          const last = Math.floor((base + npages - 1) / span);
          if (base % span) lpage.set(`${level}:${first}`, 1);
          if ((base + npages) % span) lpage.set(`${level}:${last}`, 1);
          if (base % span !== Math.floor((c.uaddr as number) / 4096) % span) for (let f = first; f <= last; f++) lpage.set(`${level}:${f}`, 1);
        }
        this.slots.set(`${as}/${c.slot}`, { as, id: c.slot as number, base, npages, counts: new Map(), lpage });
        return;
      }
      case 'memslot-delete':
        this.slots.delete(`${as}/${c.slot}`);
        return;
      case 'track-add':
      case 'track-remove': {
        const gfn = c.gfn as number;
        const slot = [...this.slots.values()].find((s) => s.as === as && gfn >= s.base && gfn < s.base + s.npages);
        if (!slot) return;
        if (c.mode !== 0) {
          this.warns.mode++;
          return;
        }
        const d = c.op === 'track-add' ? 1 : -1;
        const n = (slot.counts.get(gfn) ?? 0) + d;
        if (n < 0) this.warns.under++;
        else if (n > 65535) this.warns.over++;
        else slot.counts.set(gfn, n);
        for (const level of [2, 3]) {
          const key = `${level}:${Math.floor(gfn / (level === 2 ? 512 : 512 * 512))}`;
          const v = (slot.lpage.get(key) ?? 0) + d;
          slot.lpage.set(key, v);
          if (v < 0) this.warns.lpageNeg++;
        }
        return;
      }
      case 'notifier-register':
        if (!this.nodes.includes(c.node as string)) this.nodes = [c.node as string, ...this.nodes];
        return;
      case 'notifier-unregister':
        if (c.node !== 'kvm-mmu') this.nodes = this.nodes.filter((n) => n !== c.node);
        return;
      case 'write': {
        const gpa = c.gpa as number;
        const chunks = Math.floor((gpa + (c.bytes as number) - 1) / 4096) - Math.floor(gpa / 4096) + 1;
        for (let i = 0; i < chunks; i++) {
          const at = i === 0 ? gpa : (Math.floor(gpa / 4096) + i) * 4096;
          const gfn = Math.floor(at / 4096);
          if ([...this.slots.values()].some((s) => s.as === as && gfn >= s.base && gfn < s.base + s.npages)) {
            for (const n of this.nodes) this.heard.push(`${n}@${at}`);
          }
        }
        return;
      }
    }
  }
}

const as = fc.constantFrom(0, 1);
const gfn = fc.integer({ min: 0, max: 0x7ff });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('memslot-create'), as, slot: fc.constantFrom(0, 1), base: fc.constantFrom(0, 0x10, 0x200, 0x600), npages: fc.constantFrom(0x10, 0x200, 0x400), uaddr: fc.constantFrom(0, 0x2000, 0x400000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('memslot-delete'), as, slot: fc.constantFrom(0, 1) }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('track-add', 'track-add', 'track-remove'), user: fc.constantFrom('a', 'b'), as, gfn, mode: fc.constantFrom(0, 0, 0, 0, 1, -3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('notifier-register', 'notifier-unregister'), node: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('write'), as, gpa: gfn.map((g) => g * 4096 + 4092), bytes: fc.constantFrom(4, 8), via: fc.constant('emulator') }) },
);

describe('pagetrack agrees with a naive reference model (fast-check)', () => {
  it('counts, disallow_lpage, WARN tallies and the order of deliveries', () => {
    const seen = { steps: 0, strayRemoves: 0, deliveries: 0 };
    fc.assert(
      fc.property(fc.array(cmdArb, { minLength: 10, maxLength: 120, size: 'max' }), (rest) => {
        const cmds: Cmd[] = [{ op: 'memslot-create', as: 0, slot: 0, base: 0x10, npages: 0x400, uaddr: 0 }, { op: 'memslot-create', as: 1, slot: 1, base: 0x600, npages: 0x200, uaddr: 0x2000 }, ...rest];
        const vm = new PageTrackVm();
        const ref = new Reference();
        const heard: string[] = [];
        vm.allNotifications$().subscribe((d) => heard.push(`${d.node}@${d.gpa}`));
        for (const c of cmds) {
          const p = parseCommand(c);
          if (!p.ok) throw new Error(p.reason);
          vm.execute(p.command);
          ref.run(c);
        }
        expect([...vm.state.memslots.slots.keys()].length).toBe(ref.slots.size);
        for (const r of ref.slots.values()) {
          const s = vm.state.memslots.get(r.as, r.id)!;
          for (let i = 0; i < s.npages; i++) expect(s.track[0]![i]).toBe(r.counts.get(s.base + i) ?? 0);
          for (const level of [2, 3]) {
            const span = level === 2 ? 512 : 512 * 512;
            s.lpage[level - 2]!.forEach((v, i) => expect(v).toBe(r.lpage.get(`${level}:${Math.floor(s.base / span) + i}`) ?? 0));
          }
        }
        const w = vm.state.tallies.warns;
        expect({ mode: w['invalid-mode'], over: w['gfn-track-overflow'], under: w['gfn-track-underflow'], lpageNeg: w['lpage-negative'] }).toEqual(ref.warns);
        expect(vm.state.notifiers.nodes).toEqual(ref.nodes);
        expect(heard).toEqual(ref.heard);
        seen.steps += vm.log!.events.filter((e) => e.type === 'track-count-step').length;
        seen.strayRemoves += ref.warns.under;
        seen.deliveries += heard.length;
      }),
      { numRuns: 300 },
    );
    // The random sequences do exercise what is compared.
    expect(seen.steps).toBeGreaterThan(1000);
    expect(seen.strayRemoves).toBeGreaterThan(100);
    expect(seen.deliveries).toBeGreaterThan(1000);
  });
});
