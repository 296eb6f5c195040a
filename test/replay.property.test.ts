import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { isPast, replay } from '../src/projections/replay.js';
import { snapshot } from '../src/projections/snapshot.js';
import { PageTrackState } from '../src/projections/state.js';
import { LINUX_4_6 } from '../src/domain/profile.js';
import { parseCommand } from '../src/script/command-schema.js';
import { scriptArb } from './arbitraries.js';
import { cmd } from './helpers.js';

function runAll(script: Array<Record<string, unknown>>): PageTrackVm {
  const vm = new PageTrackVm();
  for (const c of script) {
    const p = parseCommand(c);
    if (!p.ok) throw new Error(`arbitrary produced an unparsable command: ${JSON.stringify(c)}: ${p.reason}`);
    vm.execute(p.command);
  }
  return vm;
}

const snap = (s: PageTrackState) => snapshot(s, LINUX_4_6.trackModes);

/** The log through NDJSON and back: replay must not depend on object identity. */
const roundTrip = (events: readonly PageTrackEvent[]): PageTrackEvent[] => events.map((e) => JSON.parse(JSON.stringify(e)) as PageTrackEvent);

describe('projections are derived from events alone (fast-check)', () => {
  it('replaying the log from empty rebuilds exactly the live state, typed arrays included', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const vm = runAll(script);
        const events = roundTrip(vm.log!.events);
        // Projections ride the stream: one RxJS batch per 7 events here, to cut batches arbitrarily.
        const batches: PageTrackEvent[][] = [];
        for (let i = 0; i < events.length; i += 7) batches.push(events.slice(i, i + 7));
        const rebuilt = replay(from(batches), 'linux-4.6');
        expect(snap(rebuilt)).toEqual(snap(vm.state));
        for (const s of vm.state.memslots.slots.values()) {
          const r = rebuilt.memslots.get(s.as, s.id)!;
          expect(r.track[0]).toEqual(s.track[0]);
          expect(r.lpage[0]).toEqual(s.lpage[0]);
          expect(r.lpage[1]).toEqual(s.lpage[1]);
        }
        expect(rebuilt.sptes.list()).toEqual(vm.state.sptes.list());
      }),
      { numRuns: 200 },
    );
  });

  it('the state after command K of a replay equals a VM that ran only the first K commands', () => {
    fc.assert(
      fc.property(scriptArb, fc.nat(), (script, k0) => {
        const k = k0 % (script.length + 1);
        const full = runAll(script);
        const state = new PageTrackState(LINUX_4_6);
        for (const e of full.log!.events) {
          if (isPast(e, { command: k })) break;
          state.apply(e);
        }
        expect(snap(state)).toEqual(snap(runAll(script.slice(0, k)).state));
      }),
      { numRuns: 150 },
    );
  });
});

describe('invariants over random command sequences (fast-check)', () => {
  it('sequence numbers run 1..N without gaps, commands never go back, every event and batch is frozen', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const vm = runAll(script);
        const events = vm.log!.events;
        events.forEach((e, i) => {
          expect(e.seq).toBe(i + 1);
          if (i > 0) expect(e.cmd).toBeGreaterThanOrEqual(events[i - 1]!.cmd);
          expect(Object.isFrozen(e)).toBe(true);
        });
        expect(events.at(-1)!.cmd).toBe(script.length);
      }),
      { numRuns: 100 },
    );
  });

  it('a rejected command changes no state and yields exactly one command-rejected event', () => {
    let rejected = 0;
    fc.assert(
      fc.property(scriptArb, (script) => {
        const vm = new PageTrackVm();
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
      { numRuns: 100 },
    );
    expect(rejected).toBeGreaterThan(100); // the arbitraries do reach the checks
  });

  it('B1: per slot index, accepted count steps over all users sum to the count; B9: indirect SPs = live indirect pages', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const vm = runAll(script);
        const sums = new Map<string, number>();
        const bases = new Map<string, number>();
        for (const e of vm.log!.events) {
          if (e.type === 'memslot-created' || e.type === 'memslot-moved') bases.set(`${e.as}/${e.slot}`, e.base);
          if (e.type === 'memslot-deleted') for (const k of [...sums.keys()]) if (k.startsWith(`${e.as}/${e.slot}/`)) sums.delete(k);
          if (e.type === 'track-count-step') {
            const k = `${e.as}/${e.slot}/${e.gfn - bases.get(`${e.as}/${e.slot}`)!}`;
            sums.set(k, (sums.get(k) ?? 0) + e.delta);
          }
        }
        for (const s of vm.state.memslots.slots.values()) {
          s.track[0]!.forEach((c, i) => expect(c).toBe(sums.get(`${s.as}/${s.id}/${i}`) ?? 0));
        }
        const live = [...vm.state.shadowPages.pages.values()].filter((p) => !p.direct).length;
        expect(vm.state.shadowPages.indirect).toBe(live);
      }),
      { numRuns: 150 },
    );
  });

  it('B5: without counter WARNs or MOVEs, no writable SPTE maps a gfn whose count is nonzero', () => {
    let checked = 0;
    fc.assert(
      fc.property(scriptArb, (script) => {
        // Stray removes (B3) and carried-over MOVEs (B14) are the known ways to break B5; leave them out.
        const vm = runAll(script.filter((c) => c.op !== 'memslot-move' && c.op !== 'track-remove'));
        const w = vm.state.tallies.warns; // invalid-mode WARNs change nothing, so they may stay
        if (w['gfn-track-overflow'] + w['gfn-track-underflow'] + w['lpage-negative'] > 0) return;
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
      { numRuns: 400 },
    );
    expect(checked).toBeGreaterThan(30); // runs with both writable SPTEs and tracked gfns
  });
});
