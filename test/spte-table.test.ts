/**
 * The SPTE view's table (src/projections/spte-table.ts) against a Map, the structure it stands
 * in for: any run of sets, deletes and whole loads leaves the same entries, size and answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpteTable } from '../src/projections/spte-table.js';

// Keys as spteKey makes them (gfn*8 + as*4 + level), gfns small (probe runs collide) or up to 2^40.
const keyArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 40 - 1 })).chain((gfn) => fc.tuple(fc.constant(gfn), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 3 })).map(([g, as, level]) => g * 8 + as * 4 + level));
// Operations name keys of a small pool, so deletes hit present keys and probe runs form.
const opArb = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.nat(), w: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('load' as const), pairs: fc.uniqueArray(fc.tuple(fc.nat(), fc.boolean()), { selector: ([k]) => k, maxLength: 60 }) }),
);

const entries = (xs: Iterable<[number, boolean]> | SpteTable) => {
  const out: Array<[number, boolean]> = [];
  if (xs instanceof SpteTable) xs.forEach((w, k) => out.push([k, w]));
  else out.push(...xs);
  return out.sort((a, b) => a[0] - b[0]);
};

describe('SpteTable', () => {
  it('any run of sets, deletes and loads: the same entries, size, get and has as a Map, and save/load keeps them (fast-check)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 40 }), fc.array(opArb, { maxLength: 400 }), fc.array(keyArb, { maxLength: 30 }), (pool, ops, probes) => {
        const key = (i: number) => pool[i % pool.length]!;
        const t = new SpteTable(4);
        const m = new Map<number, boolean>();
        for (const o of ops) {
          if (o.op === 'set') {
            t.set(key(o.key), o.w);
            m.set(key(o.key), o.w);
          } else if (o.op === 'delete') expect(t.delete(key(o.key))).toBe(m.delete(key(o.key)));
          else {
            const pairs = [...new Map(o.pairs.map(([i, w]) => [key(i), w]))];
            t.load(Float64Array.from(pairs.map(([k, w]) => k * 2 + (w ? 1 : 0))));
            m.clear();
            for (const [k, w] of pairs) m.set(k, w);
          }
          expect(t.size).toBe(m.size);
        }
        expect(entries(t)).toEqual(entries(m));
        for (const k of [...probes, ...m.keys()]) {
          expect(t.get(k)).toBe(m.get(k));
          expect(t.has(k)).toBe(m.has(k));
        }
        expect(entries(t).map(([k]) => k)).toEqual([...m.keys()].sort((a, b) => a - b));
        const again = new SpteTable();
        again.load(t.save());
        expect(entries(again)).toEqual(entries(m));
      }),
      { numRuns: 300 },
    );
  });
});
