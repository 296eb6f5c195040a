/**
 * What `pagetrack state` shows of a snapshot: a summary first, then the tables, each cut to a
 * screenful unless asked for more (`--limit N`, `--all`) and narrowed by the same filters in
 * text and JSON (`--gfn G` or `--gfn A-B`, `--slot`, `--as`, `--type`). Only the rows shown are
 * formatted, so text costs no more than JSON however large the state.
 */
import { hex } from '../domain/gfn.js';
import type { SlotSnapshot, StateSnapshot } from '../projections/snapshot.js';
import type { SpteCut } from '../projections/sptes.js';
import { UsageError } from './errors.js';
import { flagNames, table } from './format.js';
import { parseGfn } from './timetravel-commands.js';

/** The tables `state` has, in the order it prints them. */
export const STATE_TABLES = ['slots', 'track', 'lpage', 'spte', 'sp'] as const;
export type StateTable = (typeof STATE_TABLES)[number];

/** Rows a text table shows when neither --limit nor --all is given: a screenful. */
export const DEFAULT_ROWS = 20;

export interface StateView {
  /** Rows per table (undefined: DEFAULT_ROWS in text, all in JSON). */
  readonly limit?: number;
  readonly all?: boolean;
  /** Inclusive gfn range. */
  readonly gfn?: { readonly from: number; readonly to: number };
  readonly slot?: number;
  readonly as?: number;
  /** The tables to show (all by default). */
  readonly tables?: ReadonlySet<StateTable>;
}

/** `--gfn G` or `--gfn A-B` (each hex with 0x, or decimal). */
export function parseGfnRange(v: string): { from: number; to: number } {
  const dash = v.indexOf('-', 1);
  if (dash < 0) {
    const g = parseGfn(v);
    return { from: g, to: g };
  }
  const from = parseGfn(v.slice(0, dash));
  const to = parseGfn(v.slice(dash + 1));
  if (to < from) throw new UsageError(`--gfn ${v}: the range ends before it starts`);
  return { from, to };
}

/** `--type slots,track,...` */
export function parseTables(v: string): Set<StateTable> {
  const out = new Set<StateTable>();
  for (const t of v.split(',')) {
    if (!(STATE_TABLES as readonly string[]).includes(t)) throw new UsageError(`--type must be one or more of ${STATE_TABLES.join(', ')} (comma-separated), got '${t}'`);
    out.add(t as StateTable);
  }
  return out;
}

const overlaps = (v: StateView, first: number, span: number) => v.gfn === undefined || (first <= v.gfn.to && first + span - 1 >= v.gfn.from);
const slotShown = (v: StateView, s: { as: number; slot: number }) => (v.as === undefined || s.as === v.as) && (v.slot === undefined || s.slot === v.slot);

/** Rows per table in JSON: all unless --limit. */
const jsonLimit = (v: StateView) => (v.all ? Infinity : (v.limit ?? Infinity));

const spteShown = (v: StateView, as: number, level: number, gfn: number) => (v.as === undefined || as === v.as) && overlaps(v, gfn, 512 ** (level - 1));

/**
 * The SPTEs `narrow` keeps of a view, for `snapshot` to list only those: the same rows, without
 * making the ones no one sees (JSON and `serve`; the text view counts them all).
 */
export function spteCut(v: StateView, limit = jsonLimit(v)): { sptes: SpteCut } {
  if (v.tables !== undefined && !v.tables.has('spte')) return { sptes: { limit: 0 } };
  return { sptes: { limit, ...(v.as !== undefined || v.gfn !== undefined ? { keep: (as: number, level: number, gfn: number) => spteShown(v, as, level, gfn) } : {}) } };
}

/** The snapshot narrowed by the view's filters (and, for JSON, its --limit): what both outputs show. */
export function narrow(s: StateSnapshot, v: StateView, limit = jsonLimit(v)): StateSnapshot {
  const want = (t: StateTable) => v.tables === undefined || v.tables.has(t);
  /** The first `limit` rows that `keep` keeps: no pass over the rest. */
  const pick = <T>(rows: readonly T[], keep: (row: T) => boolean): readonly T[] => {
    if (v.gfn === undefined && v.as === undefined) return rows.length > limit ? rows.slice(0, limit) : rows;
    const out: T[] = [];
    for (let i = 0; i < rows.length && out.length < limit; i++) if (keep(rows[i]!)) out.push(rows[i]!);
    return out;
  };
  const slots: SlotSnapshot[] = s.slots
    .filter((x) => slotShown(v, x))
    .map((x) => ({
      ...x,
      track: Object.fromEntries(Object.entries(x.track).map(([mode, rows]) => [mode, want('track') ? pick(rows, ([g]) => overlaps(v, g, 1)) : []])),
      disallowLpage: Object.fromEntries(
        Object.entries(x.disallowLpage).map(([level, d]) => [level, { entries: d.entries, nonzero: want('lpage') ? pick(d.nonzero, ([, g]) => overlaps(v, g, 512 ** (Number(level) - 1))) : [] }]),
      ),
    }));
  return {
    ...s,
    slots: want('slots') || want('track') || want('lpage') ? slots : [],
    sptes: want('spte') ? pick(s.sptes, (p) => spteShown(v, p.as, p.level, p.gfn)) : [],
    shadowPages: want('sp') ? pick(s.shadowPages, (p) => (v.as === undefined || p.as === v.as) && overlaps(v, p.gfn, 1)) : [],
  };
}

/** The readable `state`: the summary, then each table cut to the view's rows, saying what was left out. */
export function formatStateView(full: StateSnapshot, v: StateView): string {
  const { tables: _shown, ...filters } = v;
  const all = narrow(full, filters, Infinity); // filtered, not cut: the counts (of every table, whichever are shown)
  const limit = v.all ? Infinity : (v.limit ?? DEFAULT_ROWS);
  const want = (t: StateTable) => v.tables === undefined || v.tables.has(t);
  const out: string[] = [];
  const tracked = all.slots.flatMap((x) => Object.entries(x.track).map(([mode, rows]) => [mode, rows.length] as const));
  const byMode = new Map<string, number>();
  for (const [mode, n] of tracked) byMode.set(mode, (byMode.get(mode) ?? 0) + n);
  const trackedTotal = [...byMode.values()].reduce((a, b) => a + b, 0);
  const lpageTotal = all.slots.reduce((n, x) => n + Object.values(x.disallowLpage).reduce((m, d) => m + d.nonzero.length, 0), 0);
  const writable = all.sptes.filter((p) => p.writable).length;
  const warns = Object.entries(full.warns).filter(([, n]) => n > 0);
  const filtered = v.gfn !== undefined || v.slot !== undefined || v.as !== undefined;
  out.push(`profile ${full.profile}, after event e${full.position.event} (command c${full.position.command})${filtered ? `; showing ${describeFilter(v)}` : ''}`);
  out.push(
    `  ${all.slots.length} slot${all.slots.length === 1 ? '' : 's'}; ${trackedTotal} tracked gfn${trackedTotal === 1 ? '' : 's'}${byMode.size > 1 ? ` (${[...byMode].map(([m, n]) => `${m} ${n}`).join(', ')})` : ''}; ` +
      `${lpageTotal} nonzero disallow_lpage; ${all.sptes.length} SPTE${all.sptes.length === 1 ? '' : 's'} (${writable} writable); ` +
      `${all.shadowPages.length} shadow page${all.shadowPages.length === 1 ? '' : 's'} (${full.indirectShadowPages} indirect in the VM)`,
  );
  out.push(`  WARNs: ${warns.length ? warns.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}; TLB flushes ${full.tlbFlushes}; notifications ${full.notifications}${full.slotFlushes ? `; track_flush_slot deliveries ${full.slotFlushes}` : ''}`);
  out.push(`  notifier dispatch order: ${full.notifiers.join(' -> ') || '(none)'}`);
  const bal = Object.entries(full.balances);
  out.push(`  user balances (adds - removes): ${bal.length ? bal.map(([u, n]) => `${u} ${n}`).join(', ') : 'none'}`);

  let cut = false;
  const section = (title: string, head: string[], rows: ReadonlyArray<Array<string | number>>, total: number) => {
    out.push(`${title} (${total})`);
    if (total === 0) {
      out.push('  (none)');
      return;
    }
    out.push(table(head, rows));
    if (total > rows.length) {
      cut = true;
      out.push(`  ... ${total - rows.length} more`);
    }
  };
  const first = <T>(rows: readonly T[]) => (rows.length > limit ? rows.slice(0, limit) : rows);
  if (want('slots')) {
    section(
      'memslots',
      ['as', 'slot', 'base', 'pages', 'flags', 'tracked gfns', 'lpage 2M≠0', 'lpage 1G≠0'],
      first(all.slots).map((x) => [x.as, x.slot, hex(x.base), x.npages, flagNames(x.flags), Object.values(x.track).reduce((n, rows) => n + rows.length, 0), x.disallowLpage['2']!.nonzero.length, x.disallowLpage['3']!.nonzero.length]),
      all.slots.length,
    );
  }
  if (want('track')) {
    const rows = all.slots.flatMap((x) => Object.entries(x.track).flatMap(([mode, r]) => r.map((row) => [x.as, x.slot, mode, row] as const)));
    // Only the rows shown are formatted (a state may track millions of gfns).
    section('track counts (nonzero), with each user\'s share', ['as', 'slot', 'mode', 'gfn', 'count', 'holders'], first(rows).map(([as, slot, mode, [g, c, h]]) => [as, slot, mode, hex(g), c, holders(h)]), rows.length);
  }
  if (want('lpage')) {
    const rows = all.slots.flatMap((x) => Object.entries(x.disallowLpage).flatMap(([level, d]) => d.nonzero.map(([i, g, val]) => [x.as, x.slot, level === '2' ? '2M' : '1G', i, hex(g), val] as Array<string | number>)));
    section('disallow_lpage (nonzero)', ['as', 'slot', 'level', 'index', 'frame gfn', 'value'], first(rows), rows.length);
  }
  if (want('spte')) section('SPTEs', ['as', 'level', 'gfn', 'writable'], first(all.sptes).map((p) => [p.as, p.level, hex(p.gfn), p.writable ? 'W' : 'ro']), all.sptes.length);
  if (want('sp')) section('shadow pages (live)', ['sp', 'as', 'gfn', 'level', 'kind'], first(all.shadowPages).map((p) => [p.sp, p.as, hex(p.gfn), p.level, p.direct ? 'direct' : 'indirect']), all.shadowPages.length);
  if (cut) out.push(`(each table shows ${limit} rows: --limit N or --all for more; --gfn G|A-B, --slot N, --as N, --type ${STATE_TABLES.join(',')} to narrow)`);
  return out.join('\n');
}

/** "vgpu0 2, kvm-mmu 1": who holds a count, the largest share first. */
function holders(h: Readonly<Record<string, number>>): string {
  const rows = Object.entries(h).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  return rows.length ? rows.map(([u, n]) => `${u} ${n}`).join(', ') : '-';
}

function describeFilter(v: StateView): string {
  const parts: string[] = [];
  if (v.as !== undefined) parts.push(`as ${v.as}`);
  if (v.slot !== undefined) parts.push(`slot ${v.slot}`);
  if (v.gfn !== undefined) parts.push(v.gfn.from === v.gfn.to ? `gfn ${hex(v.gfn.from)}` : `gfns ${hex(v.gfn.from)}-${hex(v.gfn.to)}`);
  return parts.join(', ');
}
