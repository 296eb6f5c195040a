import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINUX_4_6 } from '../src/domain/profile.js';
import { snapshot } from '../src/projections/snapshot.js';
import { batchesOf, pagetrackLive, pagetrackReplay } from '../bench/peers/pagetrack.js';
import { plainLoop } from '../bench/peers/plain-loop.js';
import { reduxActions, reduxToolkit } from '../bench/peers/redux-toolkit.js';
import { type PeerResult, differs, resultOfSnapshot } from '../bench/peers/result.js';
import { rxjsScan } from '../bench/peers/rxjs-scan.js';
import { GUEST_PAGES, OP_ADD, OP_EMULATOR_WRITE, OP_GUEST_WRITE, OP_REMOVE, type Ops, makeOps } from '../bench/workload.js';

/** Every contestant's answer on the first n operations; pagetrack's both live and replayed. */
function answers(ops: Ops, n = ops.length): Record<string, PeerResult> {
  const { vm, events } = pagetrackLive(ops, n);
  const actions = reduxActions(ops, n);
  return {
    pagetrack: resultOfSnapshot(snapshot(vm.state, LINUX_4_6.trackModes)),
    'pagetrack replay': resultOfSnapshot(snapshot(pagetrackReplay(batchesOf(events, events.length)), LINUX_4_6.trackModes)),
    'plain-loop': plainLoop(ops, n)(),
    'redux-toolkit': reduxToolkit(actions)(),
    'rxjs-scan': rxjsScan(actions)(),
  };
}

function expectAllAgree(all: Record<string, PeerResult>): void {
  for (const [name, r] of Object.entries(all)) expect(differs(all.pagetrack!, r), name).toBeUndefined();
}

function opsOf(list: ReadonlyArray<{ op: number; user: number; gfn: number }>): Ops {
  return {
    length: list.length,
    op: Uint8Array.from(list, (x) => x.op),
    user: Uint8Array.from(list, (x) => x.user),
    gfn: Int32Array.from(list, (x) => x.gfn),
    offset: new Uint16Array(list.length),
  };
}

describe('bench peers compute what pagetrack computes (spec 2.1-2.3, 5.2, 5.3)', () => {
  it('on the bench workload: counts, WARNs, disallow_lpage, flushes and deliveries agree, and the workload exercises each', () => {
    const all = answers(makeOps(5_000));
    expectAllAgree(all);
    const r = all.pagetrack!;
    expect(r.warns.underflow).toBeGreaterThan(0); // stray removes (B2)
    expect(r.warns.lpageNegative).toBeGreaterThan(0); // B4: the lpage counter follows removes that changed no count
    expect(r.flushes).toBeGreaterThan(0); // add on a gfn mapped writable
    expect(r.deliveries % 3).toBe(0); // each emulated write reaches kvm-mmu and both users
    expect(r.counts.length).toBeGreaterThan(100);
  });

  it('the 16-bit counter: the 65,536th add WARNs and changes nothing (2.1, B3), the lpage counter still moves', () => {
    const list = Array.from({ length: 65_536 }, () => ({ op: OP_ADD, user: 0, gfn: 513 }));
    list.push({ op: OP_GUEST_WRITE, user: 0, gfn: 513 }, { op: OP_REMOVE, user: 1, gfn: 513 });
    const all = answers(opsOf(list));
    expectAllAgree(all);
    expect(all.pagetrack).toEqual({
      counts: [[513, 65_534]],
      lpage: { 2: [[1, 65_535]], 3: [[0, 65_535]] },
      warns: { overflow: 1, underflow: 0, lpageNegative: 0 },
      flushes: 0,
      deliveries: 3,
    });
  });

  it('property: any sequence of adds, removes and writes on any gfns gives every contestant the same answer', () => {
    const gfn = fc.oneof(fc.constantFrom(0, 511, 512, 262_143, 262_144, GUEST_PAGES - 1), fc.integer({ min: 0, max: GUEST_PAGES - 1 }));
    const op = fc.record({ op: fc.constantFrom(OP_ADD, OP_REMOVE, OP_GUEST_WRITE, OP_EMULATOR_WRITE), user: fc.integer({ min: 0, max: 1 }), gfn });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 60 }), (list, reuse) => {
        // Reuse earlier gfns often, so that counts climb, SPTEs exist when tracking starts, removes find something.
        const seq = list.map((x, i) => (i > 0 && reuse[i] !== undefined && reuse[i]! > 0 ? { ...x, gfn: list[i - reuse[i]! > 0 ? i - reuse[i]! : 0]!.gfn } : x));
        expectAllAgree(answers(opsOf(seq)));
      }),
      { numRuns: 40 },
    );
  });
});
