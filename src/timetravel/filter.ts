/**
 * Event filters for stepping and history: every given criterion must hold (AND), as in
 * ausearch. `gfn` matches an event that names the gfn, writes into its page, or changes an SPTE
 * that maps it.
 */
import { WARN_KINDS, type EventType, EVENT_TYPES, type PageTrackEvent, type WarnKind } from '../events/types.js';
import { PAGE_SIZE } from '../domain/constants.js';

export interface EventFilter {
  readonly gfn?: number;
  readonly slot?: number;
  readonly as?: number;
  readonly type?: EventType;
  readonly user?: string;
  readonly node?: string;
  /** true: any WARN; a kind: WARNs of that kind. */
  readonly warn?: true | WarnKind;
}

export class FilterError extends Error {}

/** Checks names given on a command line: an unknown event type or WARN kind is an error. */
export function checkFilter(f: EventFilter): EventFilter {
  if (f.type !== undefined && !EVENT_TYPES.includes(f.type)) throw new FilterError(`unknown event type '${f.type}' (one of: ${EVENT_TYPES.join(', ')})`);
  if (typeof f.warn === 'string' && !WARN_KINDS.includes(f.warn)) throw new FilterError(`unknown WARN kind '${f.warn}' (one of: ${WARN_KINDS.join(', ')})`);
  return f;
}

export function isEmptyFilter(f: EventFilter): boolean {
  return Object.values(f).every((v) => v === undefined);
}

/** Does `e` name, write into, or map `gfn`? */
export function touchesGfn(e: PageTrackEvent, gfn: number): boolean {
  switch (e.type) {
    case 'spte-installed':
    case 'spte-zapped':
    case 'spte-write-protected':
      return gfn >= e.gfn && gfn < e.gfn + 512 ** (e.level - 1);
    case 'write':
    case 'notification':
      return Math.floor(e.gpa / PAGE_SIZE) === gfn;
    default:
      return 'gfn' in e && e.gfn === gfn;
  }
}

export function matches(e: PageTrackEvent, f: EventFilter): boolean {
  if (f.type !== undefined && e.type !== f.type) return false;
  if (f.warn !== undefined && (e.type !== 'warn' || (f.warn !== true && e.kind !== f.warn))) return false;
  if (f.gfn !== undefined && !touchesGfn(e, f.gfn)) return false;
  const o = e as unknown as Record<string, unknown>;
  if (f.slot !== undefined && o.slot !== f.slot) return false;
  if (f.as !== undefined && o.as !== f.as) return false;
  if (f.user !== undefined && o.user !== f.user) return false;
  if (f.node !== undefined && o.node !== f.node) return false;
  return true;
}
