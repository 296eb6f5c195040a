/**
 * The tables exports write, ready for SQL: `events` (one row per event, one typed column per
 * field any event type has, empty where a type has none) and `summary` (one row per command,
 * the headline numbers after it: src/series/summary-tracker.ts). The same columns go to CSV and
 * Parquet; the DuckDB types are what Parquet stores and what `pagetrack query` sees.
 *
 * A row is written by a function generated per event type (as the codec's decoders are) straight
 * into a byte buffer (bytes.ts): no intermediate string per row or cell.
 */
import { EVENT_TYPES, type EventType, type PageTrackEvent } from '../events/types.js';
import type { SummaryTracker } from '../series/summary-tracker.js';
import type { CsvBytes } from './bytes.js';

export interface Column {
  readonly name: string;
  /** The DuckDB / Parquet type. */
  readonly type: 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'MAP(VARCHAR, BIGINT)';
  readonly doc: string;
}

export const EVENT_COLUMNS: readonly Column[] = [
  { name: 'seq', type: 'BIGINT', doc: 'event number, from 1' },
  { name: 'cmd', type: 'BIGINT', doc: 'the command that caused it (0: VM creation)' },
  { name: 'type', type: 'VARCHAR', doc: 'event type (README, "Events")' },
  { name: 'addr_space', type: 'INTEGER', doc: 'address space (`as`): 0 normal, 1 SMM' },
  { name: 'slot', type: 'INTEGER', doc: 'memslot id' },
  { name: 'gfn', type: 'BIGINT', doc: 'gfn; for `write` and `notification` the gfn of `gpa` (gpa >> 12); for an SPTE its first gfn' },
  { name: 'level', type: 'INTEGER', doc: 'SPTE, shadow-page or disallow_lpage level' },
  { name: 'mode', type: 'INTEGER', doc: 'track mode (0: write)' },
  { name: 'user', type: 'VARCHAR', doc: 'the page-track user of a count step or WARN (and of a track command)' },
  { name: 'node', type: 'VARCHAR', doc: 'notifier node' },
  { name: 'sp', type: 'BIGINT', doc: 'shadow page id' },
  { name: 'delta', type: 'INTEGER', doc: '+1 / -1 of a count or lpage step' },
  { name: 'count', type: 'INTEGER', doc: 'write-track count after a step; write-flooding count of `sp-write-flooding`' },
  { name: 'value', type: 'BIGINT', doc: 'disallow_lpage after an `lpage-step`; the counter a WARN names; `registered` of `vm-destroyed`' },
  { name: 'index', type: 'BIGINT', doc: 'disallow_lpage index (`lpage-step`, WARN); first entry of an `lpage-guard`' },
  { name: 'writable', type: 'BOOLEAN', doc: 'the SPTE installed is writable' },
  { name: 'reason', type: 'VARCHAR', doc: 'why: zap, flush, write-protect, write tracking enabled, rejection, KVM_BUG_ON; `why` of `lpage-guard`' },
  { name: 'kind', type: 'VARCHAR', doc: 'WARN kind' },
  { name: 'fn', type: 'VARCHAR', doc: 'kernel function of a WARN or KVM_BUG_ON' },
  { name: 'printed', type: 'BOOLEAN', doc: 'the WARN is printed (false: a WARN_ON_ONCE after its first)' },
  { name: 'gpa', type: 'BIGINT', doc: 'guest physical address of a write chunk or notification' },
  { name: 'bytes', type: 'BIGINT', doc: 'bytes written or notified; gfn_track bytes of `write-tracking-enabled`' },
  { name: 'via', type: 'VARCHAR', doc: 'write path: guest, emulator, write_std, kvm, userspace, dma' },
  { name: 'outcome', type: 'VARCHAR', doc: 'fault: mapped/emulate/mmio; write: direct/emulated/mmio/blind' },
  { name: 'write_fault', type: 'BOOLEAN', doc: 'a fault is a write fault' },
  { name: 'present', type: 'BOOLEAN', doc: 'a fault found a present SPTE' },
  { name: 'host_writable', type: 'BOOLEAN', doc: 'a fault found the host page writable' },
  { name: 'direct', type: 'BOOLEAN', doc: 'a shadow page is direct' },
  { name: 'active', type: 'BOOLEAN', doc: '`is-active` answered true' },
  { name: 'op', type: 'VARCHAR', doc: "a command's op (accepted or rejected); the failed op of `memslot-change-failed`" },
  { name: 'base', type: 'BIGINT', doc: 'first gfn of a created or moved memslot' },
  { name: 'npages', type: 'BIGINT', doc: 'pages of a created memslot or removed region' },
  { name: 'ts', type: 'DOUBLE', doc: 'trace time in seconds of a `command` from `pagetrack ingest`' },
  { name: 'detail', type: 'VARCHAR', doc: 'the fields no column holds, as JSON (the command object, flags, old base, rejected input...)' },
];

export const SUMMARY_COLUMNS: readonly Column[] = [
  { name: 'cmd', type: 'BIGINT', doc: 'the command' },
  { name: 'seq', type: 'BIGINT', doc: 'its last event' },
  { name: 'events', type: 'INTEGER', doc: 'its events (in the exported window)' },
  { name: 'op', type: 'VARCHAR', doc: 'its op (empty for VM creation, or a window starting inside a command)' },
  { name: 'accepted', type: 'BOOLEAN', doc: 'false for a `command-rejected`' },
  { name: 'ts', type: 'DOUBLE', doc: 'trace time in seconds (ingested logs)' },
  { name: 'tracked', type: 'BIGINT', doc: 'gfns with a nonzero write-track count after it' },
  { name: 'write_protected', type: 'BIGINT', doc: 'read-only leaf SPTEs after it' },
  { name: 'shadow_pages', type: 'BIGINT', doc: 'live shadow pages after it' },
  { name: 'tlb_flushes', type: 'BIGINT', doc: 'TLB flushes so far' },
  { name: 'warns', type: 'BIGINT', doc: 'WARNs so far' },
  { name: 'zaps', type: 'BIGINT', doc: 'shadow pages zapped so far' },
  { name: 'by_slot', type: 'MAP(VARCHAR, BIGINT)', doc: "tracked gfns per live memslot, keys 'as0/slot1' (CSV: a JSON object)" },
  { name: 'by_user', type: 'MAP(VARCHAR, BIGINT)', doc: 'units each user holds (CSV: a JSON object)' },
];

/** The defined fields of `o` as one JSON cell, or an empty cell. */
function detail(w: CsvBytes, o: Record<string, unknown>): void {
  for (const k in o) if (o[k] !== undefined) return w.json(o);
}

const COMMAND_CELLS: Record<string, string> = { addr_space: 'n', slot: 'n', gfn: 'n', user: 's', node: 's', sp: 'n', gpa: 'n', bytes: 'n', via: 's' };
const COMMAND_FIELD: Record<string, string> = { addr_space: 'as' };

/** The statement writing a command's own field into its column (its as, gfn, user...), when it has the column's type. */
function commandCode(column: string): string {
  const field = JSON.stringify(COMMAND_FIELD[column] ?? column);
  return COMMAND_CELLS[column] === 'n' ? `{ const x = e.command[${field}]; if (typeof x === 'number') w.num(x); }` : `{ const x = e.command[${field}]; if (typeof x === 'string') w.str(x); }`;
}

/**
 * Per event type, each column's cell: `kind:expression` over `e`, kind n (number, undefined:
 * empty), s (any string, quoted as needed), l (an enum value: ASCII, no quoting), b (boolean),
 * D (JSON of the defined fields); `*` fills a command's columns from its own fields.
 */
const CELLS: { readonly [T in EventType]: Readonly<Record<string, string>> } = {
  'vm-created': { detail: 'D:{ profile: e.profile, addressSpaces: e.addressSpaces, tdp: e.tdp, externalWriteTracking: e.externalWriteTracking }' },
  command: { op: 's:e.command.op', ts: 'l:e.ts', detail: 'D:{ command: e.command, file: e.file, line: e.line, cpu: e.cpu, task: e.task }', '*': '' },
  'command-rejected': { op: 's:e.op', reason: 's:e.reason', ts: 'l:e.ts', detail: 'D:{ field: e.field, input: e.input, file: e.file, line: e.line }' },
  'memslot-created': { addr_space: 'n:e.as', slot: 'n:e.slot', base: 'n:e.base', npages: 'n:e.npages', detail: 'D:{ flags: e.flags, uaddr: e.uaddr }' },
  'lpage-guard': { addr_space: 'n:e.as', slot: 'n:e.slot', level: 'n:e.level', index: 'n:e.from', reason: 'l:e.why', detail: 'D:{ to: e.to }' },
  'memslot-flags-changed': { addr_space: 'n:e.as', slot: 'n:e.slot', detail: 'D:{ flags: e.flags, old: e.old }' },
  'memslot-moved': { addr_space: 'n:e.as', slot: 'n:e.slot', base: 'n:e.base', detail: 'D:{ old: e.old, arrays: e.arrays }' },
  'remove-region-notified': { node: 's:e.node', addr_space: 'n:e.as', slot: 'n:e.slot', gfn: 'n:e.gfn', npages: 'n:e.npages' },
  'write-tracking-enabled': { reason: 'l:e.reason', bytes: 'n:e.bytes' },
  'vm-bugged': { fn: 's:e.fn', reason: 's:e.reason' },
  'vm-destroyed': { value: 'n:e.registered' },
  'memslot-deleted': { addr_space: 'n:e.as', slot: 'n:e.slot' },
  'mmu-zapped-all': { reason: 'l:e.reason' },
  'slot-flush-notified': { node: 's:e.node', addr_space: 'n:e.as', slot: 'n:e.slot' },
  'memslot-change-failed': { addr_space: 'n:e.as', slot: 'n:e.slot', op: 'l:e.op' },
  'track-count-step': { addr_space: 'n:e.as', slot: 'n:e.slot', gfn: 'n:e.gfn', mode: 'n:e.mode', user: 's:e.user', delta: 'n:e.delta', count: 'n:e.count' },
  'lpage-step': { addr_space: 'n:e.as', slot: 'n:e.slot', level: 'n:e.level', index: 'n:e.index', gfn: 'n:e.gfn', delta: 'n:e.delta', value: 'n:e.value' },
  warn: { kind: 'l:e.kind', fn: 's:e.fn', printed: 'b:e.printed', addr_space: 'n:e.as', slot: 'n:e.slot', gfn: 'n:e.gfn', mode: 'n:e.mode', user: 's:e.user', level: 'n:e.level', index: 'n:e.index', value: 'n:e.value' },
  'spte-installed': { addr_space: 'n:e.as', level: 'n:e.level', gfn: 'n:e.gfn', writable: 'b:e.writable' },
  'spte-zapped': { addr_space: 'n:e.as', level: 'n:e.level', gfn: 'n:e.gfn', reason: 'l:e.reason' },
  'spte-write-protected': { addr_space: 'n:e.as', level: 'n:e.level', gfn: 'n:e.gfn', reason: 'l:e.reason' },
  'tlb-flushed': { reason: 'l:e.reason' },
  'sp-created': { sp: 'n:e.sp', addr_space: 'n:e.as', gfn: 'n:e.gfn', level: 'n:e.level', direct: 'b:e.direct' },
  'sp-zapped': { sp: 'n:e.sp', reason: 'l:e.reason' },
  'sp-write-flooding': { sp: 'n:e.sp', count: 'n:e.count' },
  'notifier-registered': { node: 's:e.node' },
  'notifier-unregistered': { node: 's:e.node' },
  fault: { addr_space: 'n:e.as', gfn: 'n:e.gfn', write_fault: 'b:e.write', present: 'b:e.present', outcome: 'l:e.outcome', host_writable: 'b:e.hostWritable' },
  write: { addr_space: 'n:e.as', gpa: 'n:e.gpa', gfn: 'n:Math.floor(e.gpa / 4096)', bytes: 'n:e.bytes', via: 'l:e.via', outcome: 'l:e.outcome' },
  notification: { node: 's:e.node', addr_space: 'n:e.as', gpa: 'n:e.gpa', gfn: 'n:Math.floor(e.gpa / 4096)', bytes: 'n:e.bytes' },
  'track-queried': { addr_space: 'n:e.as', gfn: 'n:e.gfn', mode: 'n:e.mode', active: 'b:e.active' },
  marked: { detail: 'D:{ text: e.text }' },
};

type RowFn = (e: PageTrackEvent, w: CsvBytes) => void;

/** The statement writing one cell. */
function cellCode(spec: string): string {
  const kind = spec[0];
  const expr = spec.slice(2);
  if (kind === 'n') return `w.num(${expr});`;
  if (kind === 's') return `w.str(${expr});`;
  if (kind === 'l') return `if (${expr} !== undefined) w.lit(${expr});`;
  if (kind === 'b') return `if (${expr} !== undefined) w.bool(${expr});`;
  return `D(w, ${expr});`;
}

/** The generated row writers, by type: `seq,cmd,type,...cells\n`. */
const ROWS = new Map<string, RowFn>(
  EVENT_TYPES.map((type) => {
    const cells = CELLS[type];
    // Runs of empty cells become one literal of commas.
    const code: string[] = ['w.num(e.seq);', 'w.byte(44);', 'w.num(e.cmd);'];
    let commas = `,${type}`;
    for (const c of EVENT_COLUMNS.slice(3)) {
      commas += ',';
      const spec = cells[c.name] ?? (cells['*'] !== undefined && COMMAND_CELLS[c.name] !== undefined ? `*:${c.name}` : undefined);
      if (spec === undefined) continue;
      code.push(`w.lit(${JSON.stringify(commas)});`, spec[0] === '*' ? commandCode(c.name) : cellCode(spec));
      commas = '';
    }
    code.push(`w.lit(${JSON.stringify(commas + '\n')});`);
    const make = new Function('D', `return (e, w) => { ${code.join(' ')} };`) as (...h: unknown[]) => RowFn;
    return [type, make(detail)];
  }),
);

export const csvHeader = (cols: readonly Column[]): string => cols.map((c) => c.name).join(',') + '\n';

/** One event as a CSV line (with its "\n"), written into `w`. */
export function writeEventRow(e: PageTrackEvent, w: CsvBytes): void {
  ROWS.get(e.type)!(e, w);
}

/** slotKey (as * 1024 + id) as the by_slot key. */
const slotName = (key: number) => `as${Math.floor(key / 1024)}/slot${key % 1024}`;

/** The JSON objects of a tracker's per-slot and per-user numbers. */
export function perSlotJson(t: SummaryTracker): string {
  return JSON.stringify(Object.fromEntries([...t.trackedBySlot].sort((a, b) => a[0] - b[0]).map(([k, n]) => [slotName(k), n])));
}
export function perUserJson(t: SummaryTracker): string {
  return JSON.stringify(Object.fromEntries([...t.trackedByUser].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))));
}

/** What a summary row says of its command besides the tracker's numbers. */
export interface CommandInfo {
  cmd: number;
  seq: number;
  events: number;
  op: string | undefined;
  accepted: boolean;
  ts: string | undefined;
}

/** One summary row (with its "\n"); the per-slot and per-user JSON are passed in (cached by the caller). */
export function writeSummaryRow(w: CsvBytes, c: CommandInfo, t: SummaryTracker, bySlot: string, byUser: string): void {
  w.num(c.cmd);
  w.byte(44);
  w.num(c.seq);
  w.byte(44);
  w.num(c.events);
  w.byte(44);
  w.str(c.op);
  w.byte(44);
  w.bool(c.accepted);
  w.byte(44);
  if (c.ts !== undefined) w.lit(c.ts);
  w.byte(44);
  w.num(t.tracked);
  w.byte(44);
  w.num(t.writeProtected);
  w.byte(44);
  w.num(t.shadowPages);
  w.byte(44);
  w.num(t.tlbFlushes);
  w.byte(44);
  w.num(t.warns);
  w.byte(44);
  w.num(t.zaps);
  w.byte(44);
  w.str(bySlot);
  w.byte(44);
  w.str(byUser);
  w.byte(10);
}
