import Table from 'cli-table3';
import { hex } from '../domain/gfn.js';
import type { CommandResult } from '../domain/vm.js';
import type { StateSnapshot } from '../projections/snapshot.js';

const FLAG_NAMES = ['log-dirty-pages', 'readonly'];
export function flagNames(flags: number): string {
  const names = FLAG_NAMES.filter((_, i) => flags & (1 << i));
  return names.length ? names.join(',') : '-';
}

/** One line per command result, for `pagetrack run`. */
export function formatResult(r: CommandResult, where: string): string {
  const head = `c${r.cmd}`.padEnd(7) + (r.op ?? '?').padEnd(20);
  if (!r.ok) return `${head}REJECTED ${where}: ${r.rejection!.field ? `field '${r.rejection!.field}': ` : ''}${r.rejection!.reason}`;
  const warns = r.events.filter((e) => e.type === 'warn').map((e) => (e.type === 'warn' ? e.kind : ''));
  const value = r.value === undefined ? 'ok' : Array.isArray(r.value) ? r.value.join(',') : String(r.value);
  return `${head}${value}${warns.length ? `  WARN ${warns.join(', ')}` : ''}  (${r.events.length} events)`;
}

/** A plain cli-table3 table (no colours). */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

/** The readable form of `pagetrack state`. */
export function formatState(s: StateSnapshot): string {
  const out: string[] = [];
  out.push(`profile ${s.profile}, after event e${s.position.event} (command c${s.position.command})`);
  out.push(
    table(
      ['as', 'slot', 'base', 'pages', 'flags', 'tracked gfns', 'lpage 2M≠0', 'lpage 1G≠0'],
      s.slots.map((x) => [
        x.as,
        x.slot,
        hex(x.base),
        x.npages,
        flagNames(x.flags),
        Object.values(x.track).reduce((n, rows) => n + rows.length, 0),
        x.disallowLpage['2']!.nonzero.length,
        x.disallowLpage['3']!.nonzero.length,
      ]),
    ),
  );
  const counts = s.slots.flatMap((x) => Object.entries(x.track).flatMap(([mode, rows]) => rows.map(([g, c]) => [x.as, x.slot, mode, hex(g), c])));
  out.push('track counts (nonzero)');
  out.push(counts.length ? table(['as', 'slot', 'mode', 'gfn', 'count'], counts) : '  (none)');
  const lp = s.slots.flatMap((x) =>
    Object.entries(x.disallowLpage).flatMap(([level, v]) => v.nonzero.map(([i, g, val]) => [x.as, x.slot, level === '2' ? '2M' : '1G', i, hex(g), val])),
  );
  out.push('disallow_lpage (nonzero)');
  out.push(lp.length ? table(['as', 'slot', 'level', 'index', 'frame gfn', 'value'], lp) : '  (none)');
  out.push('SPTEs');
  out.push(s.sptes.length ? table(['as', 'level', 'gfn', 'writable'], s.sptes.map((p) => [p.as, p.level, hex(p.gfn), p.writable ? 'W' : 'ro'])) : '  (none)');
  out.push(`shadow pages (${s.shadowPages.length} live, ${s.indirectShadowPages} indirect)`);
  if (s.shadowPages.length) out.push(table(['sp', 'as', 'gfn', 'level', 'kind'], s.shadowPages.map((p) => [p.sp, p.as, hex(p.gfn), p.level, p.direct ? 'direct' : 'indirect'])));
  out.push(`notifier dispatch order: ${s.notifiers.join(' -> ') || '(none)'}`);
  out.push(`TLB flushes: ${s.tlbFlushes}   notifications delivered: ${s.notifications}${s.slotFlushes ? `   track_flush_slot deliveries: ${s.slotFlushes}` : ''}`);
  const warns = Object.entries(s.warns).filter(([, n]) => n > 0);
  out.push(`WARNs: ${warns.length ? warns.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
  const bal = Object.entries(s.balances);
  out.push(`user balances (adds - removes): ${bal.length ? bal.map(([u, n]) => `${u} ${n}`).join(', ') : 'none'}`);
  return out.join('\n');
}
