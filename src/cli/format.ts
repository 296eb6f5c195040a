import Table from 'cli-table3';
import type { CommandResult } from '../domain/vm.js';

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
export function table(head: string[], rows: ReadonlyArray<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

