/**
 * The bug classes in one line each, for `audit --help` and the text report; the full entry of
 * each (what the kernel does, which versions, how to reproduce it) is in docs/reference.md,
 * whose anchor is the class name (`referenceOf`).
 */
import type { BugClass } from './auditor.js';

export const BUG_CLASS_TITLES: Readonly<Record<BugClass, string>> = {
  B1: "a user removed a unit it never added: it took another user's tracking",
  B2: 'a step the kernel refused with a WARN (an add at 65535, a remove at 0) left the count alone',
  B3: 'a refused step still moved disallow_lpage (and write-protected): lpage counters no longer match the counts',
  B4: 'disallow_lpage went negative (or its mixed flag flipped, 6.8+): huge pages may map over tracked gfns',
  B5: 'a writable SPTE maps a tracked gfn: guest writes are not intercepted',
  B7: 'a huge SPTE was installed over a frame whose disallow_lpage is nonzero',
  B9: "KVM's own accounting drifted: live non-leaf shadow pages differ from kvm-mmu's units",
  B10: 'an emulated write to a tracked gfn missed a registered notifier, or reached none',
  B11: 'a notifier out of its lifecycle: tracking before registering, called while unregistered, unregistered holding units',
  B13: 'a slot was deleted while gfns in it were still tracked',
  B14: "a MOVE carried the counts to the new base, or dropped them (external users lose their protection)",
  B15: 'track_flush_slot told nodes to drop a slot, then the DELETE or MOVE failed: the slot survives untracked',
  B17: 'tracking changed while write tracking was not enabled (WARN and nothing done, or KVM_BUG_ON from 6.6)',
  B20: 'the VM was destroyed with external notifiers still registered: they stay linked into the freed VM',
};
