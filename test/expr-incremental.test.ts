/**
 * Issue 15: bisect's functions are kept up to date along its scan instead of rescanning the
 * state at each step. writable_tracked() (B5) maintained event by event must equal the rescan at
 * every event of any history (model vs model), under every profile.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { PageTrackState } from '../src/projections/state.js';
import { parseCommand } from '../src/script/command-schema.js';
import { parseExpr } from '../src/timetravel/expr.js';
import { scriptArb, vmOptionsArb } from './arbitraries.js';

// SPTEs installed as ingest does (spte-set): writable ones over tracked gfns are what B5 is about.
const spteSet = fc.record({ op: fc.constant('spte-set'), as: fc.constantFrom(0, 1), gfn: fc.integer({ min: 0, max: 0x1000 }), level: fc.integer({ min: 1, max: 3 }), writable: fc.boolean() });

describe.each([...PROFILES.values()])('incremental expression functions equal a rescan, $name', (profile) => {
  it('writable_tracked() (and an expression using it) after every event of any history', () => {
    let histories = 0; // histories where writable_tracked() was ever > 0: the property is not vacuous
    const exprs = ['writable_tracked()', 'writable_tracked() > 0 || warns() > 0', '-writable_tracked() + count(3)'].map(parseExpr);
    fc.assert(
      fc.property(scriptArb, fc.array(spteSet, { maxLength: 40 }), vmOptionsArb, (script, sptes, o) => {
        const vm = new PageTrackVm({ profile, ...o });
        const mixed = script.flatMap((c, i) => (i < sptes.length ? [c, sptes[i]!] : [c]));
        for (const c of mixed) {
          const p = parseCommand(c);
          if (p.ok) vm.execute(p.command);
        }
        const s = new PageTrackState(profile);
        const trackers = exprs.map((e) => e.tracker(s));
        let seen = false;
        for (const e of vm.log!.events) {
          s.apply(e);
          exprs.forEach((x, i) => {
            trackers[i]!.apply(e, s);
            expect(trackers[i]!.value(s)).toBe(x.value(s));
          });
          const v = exprs[0]!.value(s);
          if (typeof v === 'number' && v > 0) seen = true;
        }
        if (seen) histories++;
      }),
      { numRuns: 60 },
    );
    expect(histories).toBeGreaterThan(0); // 5-20 of 60 in practice
  });
});
