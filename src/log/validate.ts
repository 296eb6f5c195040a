/**
 * Validation of untrusted events read from a log: the schema of each type (fields, types,
 * ranges) and what only the history can tell (sequence numbers, the slot a gfn must lie in,
 * live shadow pages and notifiers). Errors name the line, the field and the reason.
 */
import { COMMAND_OPS, WRITE_VIAS } from '../domain/commands.js';
import { ADDRESS_SPACES, GFN_LIMIT, MEM_MAX_NR_PAGES, MEM_SLOTS_NUM, PAGE_SIZE, USHRT_MAX, VALID_MEMSLOT_FLAGS } from '../domain/constants.js';
import { hex, lpageCount } from '../domain/gfn.js';
import { show } from '../domain/show.js';
import { MAX_NAME, MAX_PATH, MAX_TEXT } from '../io/limits.js';
import { EVENT_VERSIONS, type EventType, type PageTrackEvent, WARN_KINDS } from '../events/types.js';

/**
 * A field check: returns why a value is wrong, or undefined. `test`, when present, is the same
 * test as a JS expression over `x`, which the compiled validators inline (the read hot path).
 */
type Check = ((v: unknown) => string | undefined) & { test?: string };
const withTest = (check: (v: unknown) => string | undefined, test: string): Check => Object.assign(check, { test });

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const range = (min: number, max: number, what = 'an integer'): Check =>
  withTest((v) => (isInt(v) && v >= min && v <= max ? undefined : `must be ${what} in ${min}..${max}, got ${show(v)}`), `(typeof x === 'number' && Number.isSafeInteger(x) && x >= ${min} && x <= ${max})`);
const oneOf = (values: readonly (string | number | boolean)[]): Check => {
  const set = new Set<unknown>(values);
  return withTest(
    (v) => (set.has(v) ? undefined : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${show(v)}`),
    `(${values.map((v) => `x === ${JSON.stringify(v)}`).join(' || ')})`,
  );
};
const text = (max: number, what: string): Check =>
  withTest(
    (v) => (typeof v === 'string' && v.length > 0 && v.length <= max ? undefined : `must be a non-empty ${what} of at most ${max} characters, got ${show(v)}`),
    `(typeof x === 'string' && x.length > 0 && x.length <= ${max})`,
  );
/** Names, free texts and paths: the limits `run` applies where input enters (src/io/limits.ts). */
const str = text(MAX_NAME, 'string');
const note = text(MAX_TEXT, 'string');
const path = text(MAX_PATH, 'path');
const bool: Check = withTest((v) => (typeof v === 'boolean' ? undefined : `must be true or false, got ${show(v)}`), '(x === true || x === false)');
const commandRecord: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `must be an object, got ${show(v)}`;
  const op = (v as { op?: unknown }).op;
  if (typeof op !== 'string' || !(COMMAND_OPS as readonly string[]).includes(op)) return `has an unknown op ${show(op)}`;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null) return `has a nested value in '${k}'`;
  }
  return undefined;
};



const as = range(0, ADDRESS_SPACES - 1);
const slot = range(0, MEM_SLOTS_NUM - 1);
const gfn = range(0, GFN_LIMIT - 1);
const nat = range(0, Number.MAX_SAFE_INTEGER);
const delta = oneOf([1, -1]);

/** Field checks per event type; `?` marks an optional field. Unknown fields are errors. */
const SCHEMA: { readonly [T in EventType]: Readonly<Record<string, Check>> } = {
  'vm-created': { profile: str, addressSpaces: range(ADDRESS_SPACES, ADDRESS_SPACES), tdp: bool, externalWriteTracking: bool },
  command: { command: commandRecord, 'file?': path, 'line?': nat, 'ts?': withTest((v) => (typeof v === 'string' && /^\d{1,12}\.\d{1,12}$/.test(v) ? undefined : `must be a trace timestamp (seconds, as "1404.389384"), got ${show(v)}`), `(typeof x === 'string' && /^\\d{1,12}\\.\\d{1,12}$/.test(x))`), 'cpu?': range(0, 65535), 'task?': str },
  'command-rejected': { 'op?': note, 'field?': note, reason: note, 'input?': withTest((v) => (typeof v === 'string' && v.length <= MAX_TEXT ? undefined : `must be a string of at most ${MAX_TEXT} characters, got ${show(v)}`), `(typeof x === 'string' && x.length <= ${MAX_TEXT})`), 'file?': path, 'line?': nat },
  'memslot-created': { as, slot, base: gfn, npages: range(1, MEM_MAX_NR_PAGES), flags: range(0, VALID_MEMSLOT_FLAGS), uaddr: nat },
  'lpage-guard': { as, slot, level: range(2, 3), from: nat, to: nat, why: oneOf(['base-misaligned', 'end-misaligned', 'uaddr-misaligned']) },
  'memslot-flags-changed': { as, slot, flags: range(0, VALID_MEMSLOT_FLAGS), old: range(0, VALID_MEMSLOT_FLAGS) },
  'memslot-moved': { as, slot, base: gfn, old: gfn, arrays: oneOf(['carried', 'fresh']) },
  'remove-region-notified': { node: str, as, slot, gfn, npages: range(1, MEM_MAX_NR_PAGES) },
  'write-tracking-enabled': { reason: oneOf(['shadow-root', 'external-user']), bytes: nat },
  'vm-bugged': { fn: str, reason: note },
  'vm-destroyed': { registered: nat },
  marked: { text: note },
  'memslot-deleted': { as, slot },
  'mmu-zapped-all': { reason: oneOf(['memslot-delete', 'memslot-move', 'zap-all', 'vm-destroy']) },
  'slot-flush-notified': { node: str, as, slot },
  'memslot-change-failed': { as, slot, op: oneOf(['memslot-delete', 'memslot-move']) },
  'track-count-step': { as, slot, gfn, mode: range(0, 0), user: str, delta, count: range(0, USHRT_MAX, 'a count') },
  'lpage-step': { as, slot, level: range(2, 3), index: nat, gfn, delta, value: range(-(2 ** 31), 2 ** 31 - 1) },
  warn: {
    kind: oneOf(WARN_KINDS),
    fn: str,
    printed: bool,
    'as?': as,
    'slot?': slot,
    'gfn?': gfn,
    'mode?': range(-(2 ** 31), 2 ** 31 - 1),
    'user?': str,
    'level?': range(2, 3),
    'index?': nat,
    'value?': range(-(2 ** 31), 2 ** 31 - 1),
  },
  'spte-installed': { as, level: range(1, 3), gfn, writable: bool },
  'spte-zapped': { as, level: range(1, 3), gfn, reason: oneOf(['zap-all', 'huge-replaces-table', 'table-replaces-huge']) },
  'spte-write-protected': { as, level: range(1, 3), gfn, reason: oneOf(['track-add', 'sp-create', 'log-dirty']) },
  'tlb-flushed': { reason: oneOf(['track-add', 'sp-create', 'sp-zap', 'zap-all', 'pte-write', 'huge-replaces-table', 'table-replaces-huge', 'log-dirty']) },
  'sp-created': { sp: range(1, Number.MAX_SAFE_INTEGER), as, gfn, level: range(1, 4), direct: bool },
  'sp-zapped': { sp: range(1, Number.MAX_SAFE_INTEGER), reason: oneOf(['sp-zap', 'zap-all', 'pte-write']) },
  'sp-write-flooding': { sp: range(1, Number.MAX_SAFE_INTEGER), count: nat },
  'notifier-registered': { node: str },
  'notifier-unregistered': { node: str },
  fault: { as, gfn, write: bool, present: bool, outcome: oneOf(['mapped', 'emulate', 'mmio']), hostWritable: bool },
  write: { as, gpa: range(0, GFN_LIMIT * PAGE_SIZE - 1), bytes: range(1, PAGE_SIZE), via: oneOf(WRITE_VIAS), outcome: oneOf(['direct', 'emulated', 'mmio', 'blind']) },
  notification: { node: str, as, gpa: range(0, GFN_LIMIT * PAGE_SIZE - 1), bytes: range(1, PAGE_SIZE) },
  'track-queried': { as, gfn, mode: range(-(2 ** 31), 2 ** 31 - 1), active: bool },
};

/** Each type's fields in their on-disk order (after seq, cmd, type, v): the order of SCHEMA. */
export const FIELD_ORDER: { readonly [T in EventType]: readonly string[] } = Object.fromEntries(
  Object.entries(SCHEMA).map(([type, fields]) => [type, Object.keys(fields).map((k) => k.replace('?', ''))]),
) as unknown as { readonly [T in EventType]: readonly string[] };

type ShapeCheck = (o: Record<string, unknown>) => Invalid | undefined;

/**
 * Per type, a generated function that checks every field inline and, on the first failure, asks
 * the field's Check for the message. (Unknown fields cannot occur: events are decoded from
 * positional arrays whose length is checked.)
 */
const COMPILED = new Map<string, ShapeCheck>(
  Object.entries(SCHEMA).map(([type, fields]) => {
    const list = Object.entries(fields).map(([k, c]) => ({ name: k.replace('?', ''), check: c, optional: k.endsWith('?') }));
    const body = list.map((f, i) => {
      const test = f.check.test ?? `(C[${i}](x) === undefined)`;
      const missing = f.optional ? '' : `return { field: ${JSON.stringify(f.name)}, reason: 'is missing' };`;
      return `x = o[${JSON.stringify(f.name)}]; if (x === undefined) { ${missing} } else if (!${test}) return { field: ${JSON.stringify(f.name)}, reason: C[${i}](x) };`;
    });
    const compiled = new Function('C', `return function (o) { let x; ${body.join('\n')} return undefined; };`)(list.map((f) => f.check)) as ShapeCheck;
    return [type, compiled];
  }),
);

export interface SlotInfo {
  base: number;
  readonly npages: number;
  entries: readonly [number, number];
}

export interface ValidatorSaved {
  readonly lastSeq: number;
  readonly lastCmd: number;
  readonly slots: ReadonlyMap<number, SlotInfo>;
  readonly liveSps: ReadonlySet<number>;
  readonly lastSp: number;
  readonly nodes: ReadonlySet<string>;
}

/** The reason an event is invalid, and the field to blame. */
export interface Invalid {
  readonly field?: string;
  readonly reason: string;
}

/**
 * Checks events in log order. `check` returns undefined for a valid event, else what is wrong.
 * Events must already be at their current version (see upcast.ts).
 */
const badSeq = (e: PageTrackEvent): Invalid | undefined => (isInt(e.seq as unknown) && e.seq >= 1 ? undefined : { field: 'seq', reason: `must be a positive integer, got ${show(e.seq)}` });
const badCmd = (e: PageTrackEvent): Invalid | undefined => (isInt(e.cmd as unknown) && e.cmd >= 0 ? undefined : { field: 'cmd', reason: `must be a non-negative integer, got ${show(e.cmd)}` });

export class EventValidator {
  /**
   * `schema: false` checks only sequence and command numbers (they are never skipped silently);
   * `history: false` skips what needs the log from its start (a read that begins mid-log, after
   * an event `after` that an index vouches for).
   */
  constructor(private readonly options: { readonly schema?: boolean; readonly history?: boolean; readonly after?: { readonly seq: number; readonly cmd: number } } = {}) {
    this.lastSeq = options.after?.seq ?? 0;
    this.lastCmd = options.after?.cmd ?? -1;
  }

  private lastSeq: number;
  private lastCmd: number;
  private readonly slots = new Map<number, SlotInfo>();
  private readonly liveSps = new Set<number>();
  private lastSp = 0;
  private readonly nodes = new Set<string>();

  /** The history checks' memory, as structured-clonable data (a resumed audit carries it on). */
  save(): ValidatorSaved {
    return { lastSeq: this.lastSeq, lastCmd: this.lastCmd, slots: this.slots, liveSps: this.liveSps, lastSp: this.lastSp, nodes: this.nodes };
  }

  /** A validator that goes on after the events `saved` saw, with every check (history included). */
  static load(saved: ValidatorSaved, schema = true): EventValidator {
    const v = new EventValidator({ schema, after: { seq: saved.lastSeq, cmd: saved.lastCmd } });
    for (const [k, s] of saved.slots) v.slots.set(k, s);
    for (const sp of saved.liveSps) v.liveSps.add(sp);
    for (const n of saved.nodes) v.nodes.add(n);
    v.lastSp = saved.lastSp;
    return v;
  }

  /** Where the stream starts (for a reader that resumes after a checkpoint). */
  get position(): { seq: number; cmd: number } {
    return { seq: this.lastSeq, cmd: this.lastCmd };
  }

  check(e: PageTrackEvent): Invalid | undefined {
    const r =
      this.options.schema === false
        ? this.checkSequence(e)
        : (this.checkSequence(e) ?? this.checkShape(e) ?? (this.options.history === false ? undefined : this.checkHistory(e)));
    if (r === undefined) {
      this.lastSeq = e.seq;
      this.lastCmd = e.cmd;
    }
    return r;
  }

  /**
   * One event read on its own (a gfn's posted lines, src/timetravel/posted-lines.ts): its numbers
   * and its shape; its order is the caller's to check, its history the full read's.
   */
  checkAlone(e: PageTrackEvent): Invalid | undefined {
    return badSeq(e) ?? badCmd(e) ?? (this.options.schema === false ? undefined : this.checkShape(e));
  }

  private checkSequence(e: PageTrackEvent): Invalid | undefined {
    const bad = badSeq(e);
    if (bad) return bad;
    const seq = e.seq;
    const want = this.lastSeq + 1;
    if (seq === this.lastSeq) return { field: 'seq', reason: `duplicate: seq ${seq} repeats the event before it` };
    if (seq < want) return { field: 'seq', reason: `out of order: seq ${seq} comes after seq ${this.lastSeq}` };
    if (seq > want) return { field: 'seq', reason: `gap: seq ${seq} follows seq ${this.lastSeq}, so ${seq - want === 1 ? `event ${want} is` : `events ${want}..${seq - 1} are`} missing` };
    const badC = badCmd(e);
    if (badC) return badC;
    const cmd = e.cmd;
    if (cmd < this.lastCmd) return { field: 'cmd', reason: `command ${cmd} comes after command ${this.lastCmd}` };
    if (cmd > this.lastCmd + 1) return { field: 'cmd', reason: `command ${cmd} follows command ${this.lastCmd}: commands ${this.lastCmd + 1}..${cmd - 1} are missing` };
    return undefined;
  }

  private checkShape(e: PageTrackEvent): Invalid | undefined {
    const type = e.type as unknown;
    const schema = typeof type === 'string' ? COMPILED.get(type) : undefined;
    if (!schema) return { field: 'type', reason: `unknown event type ${show(type)}` };
    const v = e.v as unknown;
    const current = EVENT_VERSIONS[type as EventType];
    if (v !== current) return { field: 'v', reason: `${type} is at version ${current} in this build, got ${show(v)}` };
    return schema(e as unknown as Record<string, unknown>);
  }

  private slot(as: number, id: number): SlotInfo | undefined {
    return this.slots.get(as * 1024 + id);
  }

  private inSlot(e: { as: number; slot: number; gfn: number }): Invalid | undefined {
    const s = this.slot(e.as, e.slot);
    if (!s) return { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
    if (e.gfn < s.base || e.gfn >= s.base + s.npages) return { field: 'gfn', reason: `gfn ${hex(e.gfn)} is outside slot ${e.slot} of address space ${e.as} (base ${hex(s.base)}, ${s.npages} pages)` };
    return undefined;
  }

  private checkHistory(e: PageTrackEvent): Invalid | undefined {
    switch (e.type) {
      case 'track-count-step':
        return this.inSlot(e);
      case 'lpage-step': {
        const bad = this.inSlot(e);
        if (bad) return bad;
        const entries = this.slot(e.as, e.slot)!.entries[e.level - 2]!;
        return e.index < entries ? undefined : { field: 'index', reason: `index ${e.index} is past the ${entries} level-${e.level} lpage entries of slot ${e.slot}` };
      }
      case 'lpage-guard': {
        const s = this.slot(e.as, e.slot);
        if (!s) return { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
        const entries = s.entries[e.level - 2]!;
        return e.from <= e.to && e.to < entries ? undefined : { field: 'to', reason: `range ${e.from}..${e.to} is not within the ${entries} level-${e.level} entries` };
      }
      case 'memslot-created': {
        if (this.slot(e.as, e.slot)) return { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} already exists` };
        if (e.base + e.npages > GFN_LIMIT) return { field: 'npages', reason: 'the slot runs past the 2^40 gfn limit' };
        this.slots.set(e.as * 1024 + e.slot, { base: e.base, npages: e.npages, entries: [lpageCount(e.base, e.npages, 2), lpageCount(e.base, e.npages, 3)] });
        return undefined;
      }
      case 'memslot-moved': {
        const s = this.slot(e.as, e.slot);
        if (!s) return { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
        if (s.base !== e.old) return { field: 'old', reason: `the slot's base is ${hex(s.base)}, not ${hex(e.old)}` };
        if (e.base + s.npages > GFN_LIMIT) return { field: 'base', reason: 'the slot runs past the 2^40 gfn limit' };
        s.base = e.base;
        // Fresh arrays are sized for the new base; carried ones keep their sizes (spec 1.5).
        if (e.arrays === 'fresh') s.entries = [lpageCount(e.base, s.npages, 2), lpageCount(e.base, s.npages, 3)];
        return undefined;
      }
      case 'vm-destroyed':
        this.slots.clear();
        this.liveSps.clear();
        return undefined;
      case 'memslot-flags-changed':
      case 'memslot-deleted': {
        if (!this.slot(e.as, e.slot)) return { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
        if (e.type === 'memslot-deleted') this.slots.delete(e.as * 1024 + e.slot);
        return undefined;
      }
      case 'sp-created':
        if (e.sp <= this.lastSp) return { field: 'sp', reason: `shadow page ids only grow: ${e.sp} after ${this.lastSp}` };
        this.lastSp = e.sp;
        this.liveSps.add(e.sp);
        return undefined;
      case 'sp-zapped':
        return this.liveSps.delete(e.sp) ? undefined : { field: 'sp', reason: `shadow page ${e.sp} is not live` };
      case 'sp-write-flooding':
        return this.liveSps.has(e.sp) ? undefined : { field: 'sp', reason: `shadow page ${e.sp} is not live` };
      case 'spte-installed':
      case 'spte-zapped':
      case 'spte-write-protected':
        return e.gfn % 512 ** (e.level - 1) === 0 ? undefined : { field: 'gfn', reason: `gfn ${hex(e.gfn)} is not the first gfn of a level-${e.level} frame` };
      case 'notifier-registered':
        if (this.nodes.has(e.node)) return { field: 'node', reason: `notifier '${e.node}' is already registered` };
        this.nodes.add(e.node);
        return undefined;
      case 'notifier-unregistered':
        return this.nodes.delete(e.node) ? undefined : { field: 'node', reason: `notifier '${e.node}' is not registered` };
      case 'slot-flush-notified':
        if (!this.nodes.has(e.node)) return { field: 'node', reason: `notifier '${e.node}' is not registered` };
        return this.slot(e.as, e.slot) ? undefined : { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
      case 'memslot-change-failed':
        return this.slot(e.as, e.slot) ? undefined : { field: 'slot', reason: `memslot ${e.slot} of address space ${e.as} does not exist at this point` };
      case 'notification':
        if (!this.nodes.has(e.node)) return { field: 'node', reason: `notifier '${e.node}' is not registered` };
        return (e.gpa % PAGE_SIZE) + e.bytes <= PAGE_SIZE ? undefined : { field: 'bytes', reason: 'a notification lies within one page' };
      case 'write':
        return (e.gpa % PAGE_SIZE) + e.bytes <= PAGE_SIZE ? undefined : { field: 'bytes', reason: 'a write event covers one page chunk' };
      default:
        return undefined;
    }
  }
}
