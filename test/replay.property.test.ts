import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { isPast, replay } from '../src/projections/replay.js';
import { snapshot } from '../src/projections/snapshot.js';
import { slotKey } from '../src/projections/memslots.js';
import { PageTrackState } from '../src/projections/state.js';
import { type KernelProfile, LINUX_4_6, PROFILES } from '../src/domain/profile.js';
import { parseCommand } from '../src/script/command-schema.js';
import { scriptArb, vmOptionsArb } from './arbitraries.js';
import { cmd } from './helpers.js';

type VmOpts = { tdp: boolean; externalWriteTracking: boolean };

function runAll(script: Array<Record<string, unknown>>, profile: KernelProfile, o: VmOpts): PageTrackVm {
  const vm = new PageTrackVm({ profile, ...o });
  for (const c of script) {
    const p = parseCommand(c);
    if (!p.ok) throw new Error(`arbitrary produced an unparsable command: ${JSON.stringify(c)}: ${p.reason}`);
    vm.execute(p.command);
  }
  return vm;
}

const snap = (s: PageTrackState) => snapshot(s, LINUX_4_6.trackModes);
/** Every property runs under every profile (runs are split between them). */
const perProfile = (runs: number) => Math.max(20, Math.ceil(runs / 4));

/** The log through NDJSON and back: replay must not depend on object identity. */
const roundTrip = (events: readonly PageTrackEvent[]): PageTrackEvent[] => events.map((e) => JSON.parse(JSON.stringify(e)) as PageTrackEvent);

describe.each([...PROFILES.values()])('projections are derived from events alone (fast-check), $name', (profile) => {
  it('replaying the log from empty rebuilds exactly the live state, typed arrays included', () => {
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, (script, o) => {
        const vm = runAll(script, profile, o);
        const events = roundTrip(vm.log!.events);
        // Projections ride the stream: one RxJS batch per 7 events here, to cut batches arbitrarily.
        const batches: PageTrackEvent[][] = [];
        for (let i = 0; i < events.length; i += 7) batches.push(events.slice(i, i + 7));
        const rebuilt = replay(from(batches), profile.name);
        expect(snap(rebuilt)).toEqual(snap(vm.state));
        for (const s of vm.state.memslots.slots.values()) {
          const r = rebuilt.memslots.get(s.as, s.id)!;
          expect(r.track[0]).toEqual(s.track[0]);
          expect(r.lpage[0]).toEqual(s.lpage[0]);
          expect(r.lpage[1]).toEqual(s.lpage[1]);
        }
        expect(rebuilt.sptes.list()).toEqual(vm.state.sptes.list());
      }),
      { numRuns: perProfile(200) },
    );
  });

  it('the state after command K of a replay equals a VM that ran only the first K commands', () => {
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, fc.nat(), (script, o, k0) => {
        const k = k0 % (script.length + 1);
        const full = runAll(script, profile, o);
        const state = new PageTrackState(profile);
        for (const e of full.log!.events) {
          if (isPast(e, { command: k })) break;
          state.apply(e);
        }
        expect(snap(state)).toEqual(snap(runAll(script.slice(0, k), profile, o).state));
      }),
      { numRuns: perProfile(150) },
    );
  });
});

describe.each([...PROFILES.values()])('invariants over random command sequences (fast-check), $name', (profile) => {
  it('sequence numbers run 1..N without gaps, commands never go back, every event and batch is frozen', () => {
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, (script, o) => {
        const vm = runAll(script, profile, o);
        const events = vm.log!.events;
        events.forEach((e, i) => {
          expect(e.seq).toBe(i + 1);
          if (i > 0) expect(e.cmd).toBeGreaterThanOrEqual(events[i - 1]!.cmd);
          expect(Object.isFrozen(e)).toBe(true);
        });
        expect(events.at(-1)!.cmd).toBe(script.length);
      }),
      { numRuns: perProfile(100) },
    );
  });

  it('a rejected command changes no state and yields exactly one command-rejected event', () => {
    let rejected = 0;
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, (script, o) => {
        const vm = new PageTrackVm({ profile, ...o });
        const withoutPosition = () => {
          const { position: _p, ...rest } = snap(vm.state);
          return rest;
        };
        for (const c of script) {
          const before = withoutPosition();
          const r = vm.execute(cmd(c));
          if (r.ok) continue;
          rejected++;
          expect(r.events.map((e) => e.type)).toEqual(['command-rejected']);
          expect(withoutPosition()).toEqual(before);
        }
      }),
      { numRuns: perProfile(100) },
    );
    expect(rejected).toBeGreaterThan(20); // the arbitraries do reach the checks
  });

  it('B1: per slot index, accepted count steps over all users sum to the count, and the holders projection is those steps by user; B9: indirect SPs = live indirect pages', () => {
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, (script, o) => {
        const vm = runAll(script, profile, o);
        const sums = new Map<string, number>();
        const bases = new Map<string, number>();
        for (const e of vm.log!.events) {
          if (e.type === 'memslot-created' || e.type === 'memslot-moved') bases.set(`${e.as}/${e.slot}`, e.base);
          // Fresh arrays (5.7+ MOVE) and a destroyed VM start every sum again.
          if ((e.type === 'memslot-moved' && e.arrays === 'fresh') || e.type === 'memslot-deleted') for (const k of [...sums.keys()]) if (k.startsWith(`${e.as}/${e.slot}/`)) sums.delete(k);
          if (e.type === 'track-count-step') {
            const k = `${e.as}/${e.slot}/${e.gfn - bases.get(`${e.as}/${e.slot}`)!}`;
            sums.set(k, (sums.get(k) ?? 0) + e.delta);
          }
        }
        for (const s of vm.state.memslots.slots.values()) {
          s.track[0]!.forEach((c, i) => expect(c).toBe(sums.get(`${s.as}/${s.id}/${i}`) ?? 0));
        }
        // holders (the `state` track table's shares) are these sums by user: each user's accepted steps
        const shares = new Map<string, Record<string, number>>();
        const slotBases = new Map<string, number>();
        for (const e of vm.log!.events) {
          if (e.type === 'memslot-created' || e.type === 'memslot-moved') slotBases.set(`${e.as}/${e.slot}`, e.base);
          if ((e.type === 'memslot-moved' && e.arrays === 'fresh') || e.type === 'memslot-deleted') for (const k of [...shares.keys()]) if (k.startsWith(`${e.as}/${e.slot}/`)) shares.delete(k);
          if (e.type === 'track-count-step') {
            const k = `${e.as}/${e.slot}/${e.mode}/${e.gfn - slotBases.get(`${e.as}/${e.slot}`)!}`;
            const h = shares.get(k) ?? {};
            h[e.user] = (h[e.user] ?? 0) + e.delta;
            if (h[e.user] === 0) delete h[e.user];
            shares.set(k, h);
          }
        }
        for (const s of vm.state.memslots.slots.values()) {
          s.track.forEach((arr, mode) =>
            arr.forEach((c, i) => {
              const h = vm.state.holders.of(slotKey(s.as, s.id), mode, i);
              expect(h).toEqual(Object.fromEntries(Object.entries(shares.get(`${s.as}/${s.id}/${mode}/${i}`) ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))));
              expect(Object.values(h).reduce((a, b) => a + b, 0)).toBe(c);
            }),
          );
        }
        const live = [...vm.state.shadowPages.pages.values()].filter((p) => !p.direct).length;
        expect(vm.state.shadowPages.indirect).toBe(live);
      }),
      { numRuns: perProfile(150) },
    );
  });

  it('B5: without counter WARNs or MOVEs, no writable SPTE maps a gfn whose count is nonzero', () => {
    let checked = 0;
    fc.assert(
      fc.property(scriptArb, vmOptionsArb, (script, o) => {
        // Stray removes (B3) and carried-over MOVEs (B14) are the known ways to break B5; leave them out.
        const vm = runAll(script.filter((c) => c.op !== 'memslot-move' && c.op !== 'track-remove'), profile, o);
        const w = vm.state.tallies.warns; // invalid-mode WARNs change nothing, so they may stay
        if (w['gfn-track-overflow'] + w['gfn-track-underflow'] + w['lpage-negative'] + w['lpage-mixed-flag-flip'] > 0) return;
        if (vm.state.sptes.list().some((x) => x.writable) && vm.state.memslots.list().some((x) => x.track[0]!.some((c) => c > 0))) checked++;
        for (const spte of vm.state.sptes.list()) {
          if (!spte.writable) continue;
          for (const slot of vm.state.memslots.slots.values()) {
            if (slot.as !== spte.as) continue;
            const span = 512 ** (spte.level - 1);
            for (let g = Math.max(spte.gfn, slot.base); g < Math.min(spte.gfn + span, slot.base + slot.npages); g++) {
              expect(slot.track[0]![g - slot.base], `writable level-${spte.level} SPTE at ${spte.gfn} over tracked gfn ${g}`).toBe(0);
            }
          }
        }
      }),
      { numRuns: perProfile(400) },
    );
    expect(checked).toBeGreaterThan(5); // runs with both writable SPTEs and tracked gfns
  });
});
