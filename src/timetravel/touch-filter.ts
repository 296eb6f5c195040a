/**
 * Which gfns a window of the log (checkpoint to checkpoint) may touch: a Bloom filter per window,
 * built with the index, so `history` and `why` look only at the windows that can hold a gfn's
 * events (false positives cost a look, never an answer), and in those read only the lines the
 * window's postings name (gfn-postings.ts). A window with a memslot change, a zap-all or a VM's
 * end is always looked at, and those events are posted for every gfn: they move what the gfn's
 * watcher knows (spec 1.5, 5.5).
 */
import { frameStart } from '../domain/gfn.js';
import type { PageTrackEvent } from '../events/types.js';
import { ALL_KEY, PostingsCollector } from './gfn-postings.js';

/** 32 KiB a window: about 1% false positives at 20,000 distinct gfns (3 hashes). */
export const TOUCH_BITS = 1 << 18;
const HASHES = 3;

export interface WindowTouches {
  readonly bits: Uint8Array;
  /** The window changes memslots or zaps all: read it whatever the gfn. */
  readonly always: boolean;
  /** The lines each gfn touches (gfn-postings.ts); undefined: read the window whole. */
  readonly postings?: Buffer;
}

/** A gfn (level 1) or a huge frame (its first gfn, level 2 or 3) as one number. */
const keyOf = (level: number, gfn: number) => gfn * 4 + level;

function positions(key: number, out: Uint32Array): void {
  const lo = key >>> 0;
  const hi = Math.floor(key / 2 ** 32) >>> 0;
  const h1 = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0;
  const h2 = (Math.imul(hi ^ Math.imul(lo, 0xc2b2ae35), 0x27d4eb2f) | 1) >>> 0;
  for (let i = 0; i < HASHES; i++) out[i] = ((h1 + Math.imul(i, h2)) >>> 0) % TOUCH_BITS;
}

const scratch = new Uint32Array(HASHES);

/** Collects one window's touches while the index is built: its Bloom bits and its postings. */
export class TouchCollector {
  private bits = new Uint8Array(TOUCH_BITS / 8);
  private always = false;
  private readonly postings = new PostingsCollector();
  /** Shadow page → its gfn, so a zap (which names only the page) counts for the gfn. */
  private readonly spGfn = new Map<number, number>();
  /** The line of the event being seen. */
  private at = 0;

  /** Event `e`, whose line starts at byte `offset` of the log. */
  see(e: PageTrackEvent, offset: number): void {
    this.at = offset;
    switch (e.type) {
      case 'command':
        return this.postings.command(offset);
      case 'spte-installed':
      case 'spte-zapped':
      case 'spte-write-protected':
        return this.add(keyOf(e.level, e.gfn));
      case 'write':
      case 'notification':
        return this.add(keyOf(1, Math.floor(e.gpa / 4096)));
      case 'sp-created':
        this.spGfn.set(e.sp, e.gfn);
        return this.add(keyOf(1, e.gfn));
      case 'sp-zapped': {
        const g = this.spGfn.get(e.sp);
        this.spGfn.delete(e.sp);
        if (g !== undefined) this.add(keyOf(1, g));
        return;
      }
      case 'memslot-created':
      case 'memslot-moved':
      case 'memslot-deleted':
      case 'memslot-flags-changed':
      case 'lpage-guard':
      case 'mmu-zapped-all':
      case 'vm-destroyed':
        this.always = true;
        return this.postings.post(ALL_KEY, offset);
      default:
        if ('gfn' in e && typeof e.gfn === 'number') this.add(keyOf(1, e.gfn));
    }
  }

  /** The window so far (`base`: the offset of its checkpoint), and a fresh one begun. */
  take(base: number): WindowTouches {
    const postings = this.postings.take(base);
    const w = { bits: this.bits, always: this.always, ...(postings ? { postings } : {}) };
    this.bits = new Uint8Array(TOUCH_BITS / 8);
    this.always = false;
    return w;
  }

  private add(key: number): void {
    this.postings.post(key, this.at);
    positions(key, scratch);
    for (let i = 0; i < HASHES; i++) this.bits[scratch[i]! >>> 3]! |= 1 << (scratch[i]! & 7);
  }
}

function has(bits: Uint8Array, key: number): boolean {
  positions(key, scratch);
  for (let i = 0; i < HASHES; i++) if ((bits[scratch[i]! >>> 3]! & (1 << (scratch[i]! & 7))) === 0) return false;
  return true;
}

/** The postings keys of `gfn`: itself, the huge frames over it, and what every gfn needs. */
export function postingKeys(gfn: number): number[] {
  return [ALL_KEY, keyOf(1, gfn), keyOf(2, frameStart(gfn, 2)), keyOf(3, frameStart(gfn, 3))];
}

/** Whether the window may hold an event touching `gfn` (directly, or through a huge SPTE over it). */
export function mayTouch(w: WindowTouches, gfn: number): boolean {
  return w.always || has(w.bits, keyOf(1, gfn)) || has(w.bits, keyOf(2, frameStart(gfn, 2))) || has(w.bits, keyOf(3, frameStart(gfn, 3)));
}
