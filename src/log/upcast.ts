/**
 * Schema evolution: when an event type's shape changes, its version in EVENT_VERSIONS goes up and
 * the old version is registered here with its field order (to decode its lines) and an upcaster
 * to the next version, so old logs stay readable forever (test/fixtures holds a log of every
 * released format). Every type is at version 1 so far.
 */
import { EVENT_VERSIONS, type EventType } from '../events/types.js';
import type { Invalid } from './validate.js';

export type Upcaster = (e: Record<string, unknown>) => Record<string, unknown>;
export interface OldVersion {
  /** The field order of lines written at this version. */
  readonly fields: readonly string[];
  /** Brings an event of this version to the next one. */
  readonly upcast: Upcaster;
}
/** type → old version → how to read and upcast it */
export type UpcasterRegistry = Readonly<Record<string, Readonly<Record<number, OldVersion>>>>;

export const UPCASTERS: UpcasterRegistry = Object.freeze({});

/** Brings `e` to its type's current version, or says why it cannot. */
export function upcast(e: Record<string, unknown>, registry: UpcasterRegistry): Record<string, unknown> | Invalid {
  const type = e.type as EventType;
  // Own properties only: a type such as "constructor" from a log must not find Object's.
  const current = typeof type === 'string' && Object.hasOwn(EVENT_VERSIONS, type) ? EVENT_VERSIONS[type] : undefined;
  if (current === undefined || e.v === current) return e; // unknown types are the validator's to report
  let out = e;
  while (typeof out.v === 'number' && out.v < current) {
    const versions = Object.hasOwn(registry, type) ? registry[type] : undefined;
    const step = versions && Object.hasOwn(versions, out.v) ? versions[out.v] : undefined;
    if (!step) return { field: 'v', reason: `no upcaster for ${type} version ${out.v} (this build writes version ${current})` };
    out = step.upcast(out);
  }
  if (typeof out.v === 'number' && out.v > current) return { field: 'v', reason: `${type} version ${out.v} is newer than this build's ${current}: upgrade pagetrack` };
  return out;
}
