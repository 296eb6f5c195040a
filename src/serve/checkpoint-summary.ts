/**
 * The timeline's numbers at a checkpoint, read from the checkpoint's small state alone (no
 * restore of its arrays): what the first view of a large log shows at once, before the
 * background pass has reduced the windows between checkpoints. Equal to a restore and a
 * SummaryTracker scan at every checkpoint (test/serve-api.test.ts):
 * - tracked gfns per slot: the (mode 0, index) entries whose holders' shares sum to nonzero —
 *   the shares sum to the count (projections/holders.ts, B1);
 * - units per user: the sum of that user's shares over every mode;
 * - shadow pages: the saved pages (6 numbers each); zaps: ids handed out minus live pages.
 * Write-protected SPTEs are left out: counting them reads every checkpoint's SPTEs, seconds on a
 * 10 M-event log's index (100,000 SPTEs a checkpoint), longer than the first view may take; the
 * background pass brings them.
 */
import { slotKey } from '../projections/memslots.js';
import type { SmallState } from '../timetravel/checkpoint.js';
import { slotSeries } from './cells.js';

export function checkpointSummary(small: SmallState): Map<string, number> {
  const out = new Map<string, number>();
  const live = small.sps.length / 6;
  let warns = 0;
  for (const n of Object.values(small.tallies.warns)) warns += n;
  const perSlot = new Map<number, number>();
  for (const m of small.slots) perSlot.set(slotKey(m[0], m[1]), 0);
  const sums = new Map<string, number>(); // "slot:index" of mode 0 → sum of shares
  const users = new Map<string, number>();
  for (const [slot, mode, index, user, n] of small.holders) {
    users.set(user, (users.get(user) ?? 0) + n);
    if (mode !== 0) continue;
    const k = `${slot}:${index}`;
    sums.set(k, (sums.get(k) ?? 0) + n);
  }
  let tracked = 0;
  for (const [k, n] of sums) {
    if (n === 0) continue;
    tracked++;
    const slot = Number(k.slice(0, k.indexOf(':')));
    perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
  }
  out.set('tracked', tracked);
  out.set('shadowPages', live);
  out.set('tlbFlushes', small.tallies.tlbFlushes);
  out.set('warns', warns);
  out.set('zaps', small.lastSp - live);
  for (const [k, n] of perSlot) out.set(slotSeries(k), n);
  for (const [u, n] of [...users].sort(([a], [b]) => (a < b ? -1 : 1))) if (n !== 0) out.set(`user ${u}`, n);
  return out;
}
