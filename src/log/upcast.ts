/**
 * Schema evolution: when an event type's shape changes, its version in EVENT_VERSIONS goes up and
 * the old version is registered here with its field order (to decode its lines) and an upcaster
 * to the next version, so old logs stay readable forever (test/fixtures holds a log of every
 * released format).
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

/**
 * Version 1 of four types, as logs written before the 5.7-6.9 profiles hold them: every v1 log
 * was written under linux-4.6 or linux-4.19, so the new fields take those profiles' values.
 */
export const UPCASTERS: UpcasterRegistry = Object.freeze({
  'vm-created': { 1: { fields: ['profile', 'addressSpaces'], upcast: (e) => ({ ...e, v: 2, tdp: true, externalWriteTracking: false }) } },
  'memslot-moved': { 1: { fields: ['as', 'slot', 'base', 'old'], upcast: (e) => ({ ...e, v: 2, arrays: 'carried' }) } },
  warn: { 1: { fields: ['kind', 'fn', 'as', 'slot', 'gfn', 'mode', 'user', 'level', 'index', 'value'], upcast: (e) => ({ ...e, v: 2, printed: true }) } },
  command: { 1: { fields: ['command', 'file', 'line'], upcast: (e) => ({ ...e, v: 2 }) } },
  fault: { 1: { fields: ['as', 'gfn', 'write', 'present', 'outcome'], upcast: (e) => ({ ...e, v: 2, hostWritable: true }) } },
});

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
