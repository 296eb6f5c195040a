import type { TrackCountStep } from '../events/types.js';

/**
 * Who holds each write-track count: per slot, per (mode, index in the slot), each user's
 * accepted steps. Their sum is the count (B1: the kernel keeps only the sum; the split is what
 * `state` and `why` show as holders). Indexes are relative to the slot, as the kernel's arrays
 * are: a carried MOVE (<= 5.6) keeps them, fresh arrays (>= 5.7) and DELETE drop them.
 */
export class HolderProjection {
  /** slotKey → (mode · 2^32 + index) → user → count */
  readonly bySlot = new Map<number, Map<number, Map<string, number>>>();

  onStep(e: TrackCountStep, slot: number, base: number): void {
    const key = e.mode * 2 ** 32 + (e.gfn - base);
    const users = this.usersOf(slot, key);
    const n = (users.get(e.user) ?? 0) + e.delta;
    if (n !== 0) users.set(e.user, n);
    else {
      users.delete(e.user);
      if (users.size === 0) this.bySlot.get(slot)!.delete(key);
    }
  }

  /** The users of (slot, key), made when first needed. */
  private usersOf(slot: number, key: number): Map<string, number> {
    let perSlot = this.bySlot.get(slot);
    if (!perSlot) this.bySlot.set(slot, (perSlot = new Map()));
    let users = perSlot.get(key);
    if (!users) perSlot.set(key, (users = new Map()));
    return users;
  }

  dropSlot(slot: number): void {
    this.bySlot.delete(slot);
  }

  clear(): void {
    this.bySlot.clear();
  }

  /** Each user's share of (mode, index) of a slot, by user name. */
  of(slot: number, mode: number, index: number): Record<string, number> {
    const users = this.bySlot.get(slot)?.get(mode * 2 ** 32 + index);
    return users ? Object.fromEntries([...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : {};
  }

  /** [slot, mode, index, user, count] rows (for checkpoints). */
  save(): Array<[number, number, number, string, number]> {
    const rows: Array<[number, number, number, string, number]> = [];
    for (const [slot, perSlot] of this.bySlot) for (const [key, users] of perSlot) for (const [user, n] of users) rows.push([slot, Math.floor(key / 2 ** 32), key % 2 ** 32, user, n]);
    return rows;
  }

  load(rows: ReadonlyArray<readonly [number, number, number, string, number]>): void {
    this.bySlot.clear();
    for (const [slot, mode, index, user, n] of rows) this.usersOf(slot, mode * 2 ** 32 + index).set(user, n);
  }
}
