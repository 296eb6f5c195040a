/**
 * A gfn's past: every event that touched it, and why it is tracked at a point (the adds that no
 * remove of the same user matched).
 */
import type { Command } from '../domain/commands.js';
import type { PageTrackEvent, TrackCountStep, Warn } from '../events/types.js';
import { touchesGfn } from './filter.js';
import type { TimeMachine } from './time-machine.js';
import type { LogPoint } from './position.js';

export interface Touch {
  readonly event: PageTrackEvent;
  /** The command that caused it (undefined for VM creation). */
  readonly command?: Command;
  /** Where an ingested command came from: the trace line and its timestamp. */
  readonly source?: { readonly file?: string; readonly line?: number; readonly ts?: string };
}

interface SlotSeen {
  base: number;
  readonly npages: number;
  readonly born: number;
}

/** Follows slots and shadow pages while scanning, to tell which events concern one gfn. */
class GfnWatcher {
  private readonly slots = new Map<string, SlotSeen>();
  private readonly sps = new Set<number>();
  command: Command | undefined;
  source: Touch['source'];

  constructor(
    private readonly gfn: number,
    private readonly as: number | undefined,
  ) {}

  /** What is known of memslot `slot` of `as` at this point of the scan. */
  slot(as: number, slot: number): SlotSeen | undefined {
    return this.slots.get(`${as}/${slot}`);
  }

  /** Updates what is known and says whether `e` touches the gfn. */
  see(e: PageTrackEvent): boolean {
    const g = this.gfn;
    const inAs = (as: number) => this.as === undefined || as === this.as;
    switch (e.type) {
      case 'command':
        this.command = e.command;
        this.source = e.ts !== undefined ? { ...(e.file !== undefined ? { file: e.file } : {}), ...(e.line !== undefined ? { line: e.line } : {}), ts: e.ts } : undefined;
        return false;
      case 'memslot-created':
        this.slots.set(`${e.as}/${e.slot}`, { base: e.base, npages: e.npages, born: e.seq });
        return inAs(e.as) && g >= e.base && g < e.base + e.npages;
      case 'memslot-moved': {
        const s = this.slots.get(`${e.as}/${e.slot}`);
        const held = s !== undefined && ((g >= e.old && g < e.old + s.npages) || (g >= e.base && g < e.base + s.npages));
        if (s) s.base = e.base;
        return inAs(e.as) && held;
      }
      case 'memslot-deleted':
      case 'memslot-flags-changed': {
        const s = this.slots.get(`${e.as}/${e.slot}`);
        if (e.type === 'memslot-deleted') this.slots.delete(`${e.as}/${e.slot}`);
        return inAs(e.as) && s !== undefined && g >= s.base && g < s.base + s.npages;
      }
      case 'lpage-guard': {
        const s = this.slots.get(`${e.as}/${e.slot}`);
        if (!s || !inAs(e.as)) return false;
        const span = 512 ** (e.level - 1);
        const index = Math.floor(g / span) - Math.floor(s.base / span);
        return g >= s.base && g < s.base + s.npages && index >= e.from && index <= e.to;
      }
      case 'sp-created':
        if (e.gfn === g && inAs(e.as)) {
          this.sps.add(e.sp);
          return true;
        }
        return false;
      case 'sp-zapped':
        return this.sps.delete(e.sp);
      case 'mmu-zapped-all':
        return this.sps.size > 0;
      default:
        return touchesGfn(e, g) && ('as' in e ? inAs(e.as) : true);
    }
  }
}

/** Every event up to `to` that touched `gfn` (in `as`, or any address space), with its command. */
export async function gfnHistory(tm: TimeMachine, gfn: number, options: { as?: number; to?: number } = {}): Promise<Touch[]> {
  const w = new GfnWatcher(gfn, options.as);
  const out: Touch[] = [];
  for await (const e of tm.eventsNear(gfn, 0, options.to ?? tm.total)) {
    if (w.see(e)) out.push(w.command && e.cmd > 0 ? { event: e, command: w.command, ...(w.source ? { source: w.source } : {}) } : { event: e });
  }
  return out;
}

export interface WhyTracked {
  readonly gfn: number;
  readonly as: number;
  readonly position: LogPoint;
  readonly slot: { readonly id: number; readonly base: number; readonly npages: number } | undefined;
  readonly count: number;
  /** Adds no remove by the same user has matched, oldest first. */
  readonly adds: Touch[];
  /** Accepted removes by a user with no add of its own left: they consumed another user's unit (B1). */
  readonly steals: Touch[];
  /** Steps the kernel refused with a WARN (B2): they left the count alone. */
  readonly refused: Touch[];
}

/**
 * Why gfn G is tracked after event `at`: replays its count steps per user, matching each remove
 * to that user's latest add. The count's units are followed by slot index, so counts a 4.6 MOVE
 * carried over are explained by the adds made before the move (spec B14).
 */
export async function whyTracked(tm: TimeMachine, gfn: number, as: number, at: number): Promise<WhyTracked> {
  await tm.seek(at);
  const live = tm.state.memslots.find(as, gfn);
  const count = live ? live.track[0]![gfn - live.base]! : 0;
  const w = new GfnWatcher(gfn, as);
  const stacks = new Map<string, Touch[]>();
  const steals: Touch[] = [];
  const refused: Touch[] = [];
  const index = live ? gfn - live.base : -1;
  for await (const e of tm.eventsNear(gfn, 0, at)) {
    w.see(e);
    if (!live) continue;
    if (e.type !== 'track-count-step' && !(e.type === 'warn' && e.slot !== undefined && e.gfn !== undefined)) continue;
    const step = e as TrackCountStep | Warn;
    if (step.as !== as || step.slot !== live.id) continue;
    const seen = w.slot(step.as, step.slot);
    if (!seen || seen.born !== live.born || step.gfn! - seen.base !== index) continue;
    const touch: Touch = w.command ? { event: e, command: w.command, ...(w.source ? { source: w.source } : {}) } : { event: e };
    if (step.type === 'warn') {
      if (step.kind === 'gfn-track-overflow' || step.kind === 'gfn-track-underflow') refused.push(touch);
      continue;
    }
    const stack = stacks.get(step.user) ?? [];
    stacks.set(step.user, stack);
    if (step.delta > 0) stack.push(touch);
    else if (stack.length > 0) stack.pop();
    else steals.push(touch);
  }
  const adds = [...stacks.values()].flat().sort((x, y) => x.event.seq - y.event.seq);
  return { gfn, as, position: tm.point, slot: live ? { id: live.id, base: live.base, npages: live.npages } : undefined, count, adds, steals, refused };
}
