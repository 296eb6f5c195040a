/**
 * "What would this workload do on the other kernel?": one script run under several profiles,
 * compared with the first. For each other profile: the first command whose events differ (and
 * the first differing event in it), every command whose outcome differs, and the state at the
 * end, key by key. Events are compared without seq/cmd/v (numbering shifts when a profile emits
 * more or fewer events); the `command` records are the same input and are left out.
 */
import type { KernelProfile } from '../domain/profile.js';
import { type CommandResult, PageTrackVm } from '../domain/vm.js';
import type { PageTrackEvent } from '../events/types.js';
import { hex } from '../domain/gfn.js';
import { snapshot } from '../projections/snapshot.js';
import { isComment, runLine } from '../script/run-script.js';

export interface ScriptLine {
  readonly line: number;
  readonly text: string;
}

export interface CompareOptions {
  readonly tdp?: boolean;
  readonly externalWriteTracking?: boolean;
  readonly file?: string;
}

/** One profile's run: each command's result, and the state at the end as flat keys. */
interface Run {
  readonly profile: KernelProfile;
  readonly results: Array<{ readonly line: number; readonly result: CommandResult }>;
  readonly state: ReadonlyMap<string, string>;
}

export type Effect = Record<string, unknown>;

export interface Divergence {
  /** The command (script commands are numbered as in a log: c1 is the first). */
  readonly command: number;
  readonly line: number;
  readonly op: string | undefined;
  /** 0-based index of the first differing event among the command's effects (not a log position: a script has no log). */
  readonly effect: number;
  readonly reference: Effect | null;
  readonly other: Effect | null;
}

export interface OutcomeDifference {
  readonly command: number;
  readonly line: number;
  readonly op: string | undefined;
  readonly reference: string;
  readonly other: string;
}

export interface StateDifference {
  readonly key: string;
  readonly reference: string | null;
  readonly other: string | null;
}

export interface PairReport {
  readonly profile: string;
  readonly firstDivergence: Divergence | null;
  readonly commandsDiffering: number;
  readonly outcomes: readonly OutcomeDifference[];
  readonly state: readonly StateDifference[];
}

export interface CompareReport {
  readonly reference: string;
  readonly profiles: readonly string[];
  readonly commands: number;
  readonly pairs: readonly PairReport[];
  /** True when every profile behaves as the reference. */
  readonly same: boolean;
}

export function compareProfiles(lines: readonly ScriptLine[], profiles: readonly KernelProfile[], o: CompareOptions = {}): CompareReport {
  if (profiles.length < 2) throw new Error('compare needs at least two profiles');
  const runs = profiles.map((p) => runUnder(lines, p, o));
  const ref = runs[0]!;
  const pairs = runs.slice(1).map((r) => comparePair(ref, r));
  return {
    reference: ref.profile.name,
    profiles: profiles.map((p) => p.name),
    commands: ref.results.length,
    pairs,
    same: pairs.every((p) => p.firstDivergence === null && p.outcomes.length === 0 && p.state.length === 0),
  };
}

function runUnder(lines: readonly ScriptLine[], profile: KernelProfile, o: CompareOptions): Run {
  const vm = new PageTrackVm({ profile, log: null, ...(o.tdp !== undefined ? { tdp: o.tdp } : {}), ...(o.externalWriteTracking !== undefined ? { externalWriteTracking: o.externalWriteTracking } : {}) });
  const results: Run['results'] = [];
  for (const l of lines) {
    if (isComment(l.text)) continue;
    results.push({ line: l.line, result: runLine(vm, l.text, { ...(o.file ? { file: o.file } : {}), line: l.line }) });
  }
  return { profile, results, state: flatState(vm) };
}

/** A command's effects as comparable records: no seq, cmd or v, and no `command` record. */
function effects(r: CommandResult): Effect[] {
  return r.events
    .filter((e) => e.type !== 'command')
    .map((e) => {
      const { seq: _s, cmd: _c, v: _v, ...rest } = e as PageTrackEvent & Record<string, unknown>;
      return rest;
    });
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function outcomeOf(r: CommandResult): string {
  if (!r.ok) return `rejected: ${r.rejection!.field ? `field '${r.rejection!.field}': ` : ''}${r.rejection!.reason}`;
  return r.value === undefined ? 'ok' : `ok ${JSON.stringify(r.value)}`;
}

function comparePair(ref: Run, other: Run): PairReport {
  let firstDivergence: Divergence | null = null;
  let commandsDiffering = 0;
  const outcomes: OutcomeDifference[] = [];
  ref.results.forEach(({ line, result: a }, i) => {
    const b = other.results[i]!.result;
    const ea = effects(a);
    const eb = effects(b);
    if (!same(ea, eb)) {
      commandsDiffering++;
      if (!firstDivergence) {
        let k = 0;
        while (k < Math.max(ea.length, eb.length) && same(ea[k], eb[k])) k++;
        firstDivergence = { command: a.cmd, line, op: a.op, effect: k, reference: ea[k] ?? null, other: eb[k] ?? null };
      }
    }
    const oa = outcomeOf(a);
    const ob = outcomeOf(b);
    if (oa !== ob) outcomes.push({ command: a.cmd, line, op: a.op, reference: oa, other: ob });
  });
  const state: StateDifference[] = [];
  for (const key of [...new Set([...ref.state.keys(), ...other.state.keys()])].sort()) {
    const a = ref.state.get(key) ?? null;
    const b = other.state.get(key) ?? null;
    if (a !== b) state.push({ key, reference: a, other: b });
  }
  return { profile: other.profile.name, firstDivergence, commandsDiffering, outcomes, state };
}

/**
 * The end state as `key → value` (only what is there: zero counts, absent SPTEs and the like have
 * no key), so two profiles' states compare key by key whatever their event numbering.
 */
export function flatState(vm: PageTrackVm): Map<string, string> {
  const s = snapshot(vm.state, vm.profile.trackModes);
  const m = new Map<string, string>();
  for (const slot of s.slots) {
    const at = `as${slot.as} slot ${slot.slot}`;
    m.set(`${at}: base, pages, flags`, `${hex(slot.base)}, ${slot.npages}, ${slot.flags}`);
    for (const rows of Object.values(slot.track)) for (const [g, c] of rows) m.set(`${at}: count of gfn ${hex(g)}`, String(c));
    for (const [level, l] of Object.entries(slot.disallowLpage)) for (const [, g, v] of l.nonzero) m.set(`${at}: disallow_lpage L${level} frame ${hex(g)}`, String(v));
  }
  for (const e of s.sptes) m.set(`as${e.as}: SPTE L${e.level} gfn ${hex(e.gfn)}`, e.writable ? 'writable' : 'read-only');
  for (const p of s.shadowPages) m.set(`shadow page ${p.sp}`, `as${p.as} gfn ${hex(p.gfn)} L${p.level}${p.direct ? ' direct' : ''}`);
  m.set('notifiers (dispatch order)', s.notifiers.join(', ') || '(none)');
  for (const [k, n] of Object.entries(s.warns)) if (n) m.set(`WARNs ${k}`, String(n));
  m.set('TLB flushes', String(s.tlbFlushes));
  m.set('notifications', String(s.notifications));
  if (s.slotFlushes) m.set('track_flush_slot deliveries', String(s.slotFlushes));
  if (s.regionRemovals) m.set('track_remove_region deliveries', String(s.regionRemovals));
  for (const [u, n] of Object.entries(s.balances)) m.set(`balance of ${u}`, String(n));
  m.set('write tracking', s.vm.writeTracking.enabled ? `enabled (${s.vm.writeTracking.bytes} bytes)` : 'not enabled (0 bytes)');
  if (s.vm.bugged) m.set('VM bugged', `${s.vm.bugged.fn} at c${s.vm.bugged.command}`);
  if (s.vm.destroyed !== undefined) m.set('VM destroyed', `c${s.vm.destroyed}`);
  return m;
}
