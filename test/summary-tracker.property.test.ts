import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KernelProfile, PROFILES } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { PageTrackState } from '../src/projections/state.js';
import { parseCommand } from '../src/script/command-schema.js';
import { type Summary, SummaryTracker, scanSummary } from '../src/series/summary-tracker.js';
import { scriptArb, vmOptionsArb } from './arbitraries.js';

const plain = (s: Summary) => ({ seq: s.seq, cmd: s.cmd, tracked: s.tracked, writeProtected: s.writeProtected, shadowPages: s.shadowPages, tlbFlushes: s.tlbFlushes, warns: s.warns, zaps: s.zaps, trackedBySlot: [...s.trackedBySlot].sort((a, b) => a[0] - b[0]), trackedByUser: [...s.trackedByUser].sort((a, b) => (a[0] < b[0] ? -1 : 1)) });

/** The script's log, with a vm-destroy at the end when asked (kvm_destroy_vm frees every slot). */
function logOf(script: Array<Record<string, unknown>>, profile: KernelProfile, o: { tdp: boolean; externalWriteTracking: boolean }, destroy: boolean): readonly PageTrackEvent[] {
  const vm = new PageTrackVm({ profile, ...o });
  for (const c of destroy ? [...script, { op: 'vm-destroy' }] : script) {
    const p = parseCommand(c);
    if (!p.ok) throw new Error(`unparsable command ${JSON.stringify(c)}: ${p.reason}`);
    vm.execute(p.command);
  }
  return vm.log!.events;
}

describe.each([...PROFILES.values()])('SummaryTracker follows the state in O(1) per event (fast-check), $name', (profile) => {
  it('after every event it equals a from-scratch scan of the state; zaps and warns equal the events counted', () => {
    let tracked = 0;
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, fc.boolean(), (script, o, destroy) => {
        const events = logOf(script, profile, o, destroy);
        const state = new PageTrackState(profile);
        const tracker = new SummaryTracker();
        let zaps = 0;
        let warns = 0;
        for (const e of events) {
          const before = plain(tracker.summary());
          state.apply(e);
          const changed = tracker.see(e);
          if (e.type === 'sp-zapped') zaps++;
          if (e.type === 'warn') warns++;
          const now = plain(scanSummary(state));
          expect(plain(tracker)).toEqual(now);
          expect(tracker.zaps).toBe(zaps);
          expect(tracker.warns).toBe(warns);
          // `see` says true whenever a headline number moved (it may also say so when one was set to the same value).
          const { seq: _a, cmd: _b, ...was } = before;
          const { seq: _c, cmd: _d, ...is } = now;
          if (!changed) expect(is).toEqual(was);
          if (tracker.tracked > 0) tracked++;
        }
      }),
      { numRuns: 40 },
    );
    expect(tracked).toBeGreaterThan(0); // the histories do track gfns
  });

  it('fromState at any point, then following the rest, ends where following from the start does', () => {
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, fc.boolean(), fc.nat(), (script, o, destroy, k0) => {
        const events = logOf(script, profile, o, destroy);
        const k = k0 % (events.length + 1);
        const state = new PageTrackState(profile);
        for (const e of events.slice(0, k)) state.apply(e);
        const mid = SummaryTracker.fromState(state);
        const full = new SummaryTracker();
        for (const e of events) full.see(e);
        for (const e of events.slice(k)) mid.see(e);
        expect(plain(mid)).toEqual(plain(full));
      }),
      { numRuns: 30 },
    );
  });
});
