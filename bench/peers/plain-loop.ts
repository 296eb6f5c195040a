/**
 * The floor: a plain loop over typed arrays, no framework, no events — the same kernel rules as
 * pagetrack applies (spec 2.1-2.3, 5.2, 5.3), in as few instructions as JavaScript allows.
 */
import { USHRT_MAX } from '../../src/domain/constants.js';
import { GUEST_PAGES, NODES, OP_ADD, OP_EMULATOR_WRITE, OP_GUEST_WRITE, OP_REMOVE, type Ops } from '../workload.js';
import type { PeerResult } from './result.js';

const NO_SPTE = 0;
const READ_ONLY = 1;
const WRITABLE = 2;

export function plainLoop(ops: Ops, n: number): () => PeerResult {
  const counts = new Uint16Array(GUEST_PAGES);
  const lpage2 = new Int32Array(GUEST_PAGES >>> 9);
  const lpage3 = new Int32Array(GUEST_PAGES >>> 18);
  const spte = new Uint8Array(GUEST_PAGES); // the 4 KiB SPTE of each gfn
  let overflow = 0;
  let underflow = 0;
  let lpageNegative = 0;
  let flushes = 0;
  let deliveries = 0;
  const { op, gfn } = ops;
  for (let i = 0; i < n; i++) {
    const g = gfn[i]!;
    switch (op[i]) {
      case OP_ADD: {
        const c = counts[g]!;
        if (c === USHRT_MAX) overflow++; // 2.1: WARN, count unchanged
        else counts[g] = c + 1;
        if (++lpage2[g >>> 9]! < 0) lpageNegative++; // 2.2 / B3: whether or not the count moved
        if (++lpage3[g >>> 18]! < 0) lpageNegative++;
        if (spte[g] === WRITABLE) {
          spte[g] = READ_ONLY; // write-protect, then flush
          flushes++;
        }
        break;
      }
      case OP_REMOVE: {
        const c = counts[g]!;
        if (c === 0) underflow++;
        else counts[g] = c - 1;
        if (--lpage2[g >>> 9]! < 0) lpageNegative++; // 2.3 / B4: applied, then WARN
        if (--lpage3[g >>> 18]! < 0) lpageNegative++;
        break;
      }
      case OP_GUEST_WRITE: {
        const s = spte[g];
        if (s === WRITABLE) break; // straight to memory
        if (counts[g] !== 0) {
          if (s === NO_SPTE) spte[g] = READ_ONLY; // the fault maps it read-only, then emulates
          deliveries += NODES; // 5.3: every node, newest first
        } else spte[g] = WRITABLE; // 5.2: mapped writable, the store retires
        break;
      }
      case OP_EMULATOR_WRITE:
        deliveries += NODES;
        break;
    }
  }
  const nonzero = (a: Uint16Array | Int32Array) => {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push([i, a[i]!]);
    return out;
  };
  return () => ({ counts: nonzero(counts), lpage: { 2: nonzero(lpage2), 3: nonzero(lpage3) }, warns: { overflow, underflow, lpageNegative }, flushes, deliveries });
}
