import { hex } from '../domain/gfn.js';
import { table } from './format.js';
import type { PageTrackEvent } from '../events/types.js';
import type { StateDiff } from '../timetravel/diff.js';
import type { Touch, WhyTracked } from '../timetravel/history.js';

const HEX_FIELDS = new Set(['gfn', 'gpa', 'base', 'old', 'uaddr']);

/** One line: `e12 c3 track-count-step as=0 slot=0 gfn=0x10 ...`. */
export function formatEvent(e: PageTrackEvent): string {
  const parts = [`e${e.seq}`, `c${e.cmd}`, e.type];
  for (const [k, v] of Object.entries(e)) {
    if (k === 'seq' || k === 'cmd' || k === 'type' || k === 'v' || v === undefined) continue;
    // The usual values go unsaid: a WARN the kernel printed, a fault on a host-writable page.
    if ((k === 'printed' || k === 'hostWritable') && v === true) continue;
    if (k === 'command') parts.push(JSON.stringify(v));
    else parts.push(`${k}=${typeof v === 'number' && HEX_FIELDS.has(k) && !(k === 'old' && e.type === 'memslot-flags-changed') ? hex(v) : typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' ');
}

export function formatTouches(touches: readonly Touch[]): string {
  if (touches.length === 0) return '  (none)';
  return table(
    ['event', 'what', 'command'],
    touches.map((t) => [`e${t.event.seq}`, formatEvent(t.event).split(' ').slice(2).join(' '), `${t.command ? `c${t.event.cmd} ${t.command.op}` : `c${t.event.cmd}`}${t.source?.ts ? ` (trace line ${t.source.line}, t${t.source.ts})` : ''}`]),
  );
}

/** Where a touch happened, in words: "e19 (c6 track-add)". */
function where(t: Touch): string {
  return `e${t.event.seq} (c${t.event.cmd}${t.command ? ` ${t.command.op}` : ''}${t.source?.ts ? `, trace line ${t.source.line}, t${t.source.ts}` : ''})`;
}

const userOf = (t: Touch): string => ('user' in t.event && typeof t.event.user === 'string' ? t.event.user : '?');

/** The explanation `why` prints first: who holds the count, who took whose unit, what the kernel refused. */
export function explainWhy(w: WhyTracked): string[] {
  const out = [`gfn ${hex(w.gfn)} (address space ${w.as}${w.slot ? `, slot ${w.slot.id}` : ''}) after e${w.position.event}: count ${w.count} — ${w.count === 0 ? 'not tracked' : 'tracked'}.`];
  const byUser = new Map<string, Touch[]>();
  for (const t of w.adds) byUser.set(userOf(t), [...(byUser.get(userOf(t)) ?? []), t]);
  for (const [user, ts] of byUser) {
    const shown = ts.slice(0, 3).map(where).join(', ');
    out.push(`  ${user} added ${ts.length} unit${ts.length === 1 ? '' : 's'} it has not removed: at ${shown}${ts.length > 3 ? ` and ${ts.length - 3} more` : ''}.`);
  }
  for (const t of w.steals) out.push(`  ${userOf(t)} removed a unit at ${where(t)} when it held none of its own: it took another user's unit (B1).`);
  const believed = w.adds.length;
  if (believed !== w.count) {
    out.push(`  So the users believe they hold ${believed} unit${believed === 1 ? '' : 's'} where the count is ${w.count}${believed > w.count ? ': a unit was taken from under its holder, whose own remove will later underflow the count or strip another user' : ''}.`);
  }
  if (w.refused.length) {
    const first = w.refused[0]!;
    const kind = 'kind' in first.event ? String(first.event.kind) : first.event.type;
    out.push(`  ${w.refused.length} step${w.refused.length === 1 ? ' was' : 's were'} refused with a WARN and left the count alone (B2): ${kind} at ${where(first)}${w.refused.length > 1 ? ` and ${w.refused.length - 1} more` : ''}.`);
  }
  return out;
}

export function formatWhy(w: WhyTracked): string {
  const out = [...explainWhy(w), '', 'evidence:'];
  out.push(`unmatched adds (${w.adds.length}), by user:`);
  out.push(formatTouches(w.adds));
  if (w.steals.length) {
    out.push(`removes that took another user's unit (${w.steals.length}, B1):`);
    out.push(formatTouches(w.steals));
  }
  if (w.refused.length) {
    out.push(`steps the kernel refused with a WARN (${w.refused.length}, B2):`);
    out.push(formatTouches(w.refused));
  }
  return out.join('\n');
}

export function formatDiff(d: StateDiff): string {
  const out = [`from e${d.from.event} to e${d.to.event}`];
  const s = d.slots;
  if (s.added.length + s.removed.length + s.changed.length) out.push(`slots: +${s.added.join(',') || '-'} -${s.removed.join(',') || '-'} ~${s.changed.join(',') || '-'}`);
  out.push(`track counts changed: ${d.counts.length}`);
  if (d.counts.length) out.push(table(['as', 'slot', 'gfn', 'before', 'after'], d.counts.slice(0, 200).map(([as, slot, g, b, a]) => [as, slot, hex(g), b, a])));
  if (d.counts.length > 200) out.push(`  (${d.counts.length - 200} more; --json lists all)`);
  out.push(`disallow_lpage changed: ${d.lpage.length}`);
  if (d.lpage.length) out.push(table(['as', 'slot', 'level', 'frame gfn', 'before', 'after'], d.lpage.slice(0, 200).map(([as, slot, l, g, b, a]) => [as, slot, l === 2 ? '2M' : '1G', hex(g), b, a])));
  const sp = d.sptes;
  out.push(`SPTEs: ${sp.added.length} added, ${sp.removed.length} removed, ${sp.changed.length} changed writability`);
  out.push(`shadow pages: ${d.shadowPages.created.length} created, ${d.shadowPages.zapped.length} zapped`);
  if (d.notifiers) out.push(`notifiers: ${d.notifiers.before.join(' -> ') || '(none)'}  =>  ${d.notifiers.after.join(' -> ') || '(none)'}`);
  const warns = Object.entries(d.warns);
  out.push(`WARNs: ${warns.length ? warns.map(([k, [b, a]]) => `${k} ${b} -> ${a}`).join(', ') : 'unchanged'}`);
  out.push(`TLB flushes ${d.tlbFlushes[0]} -> ${d.tlbFlushes[1]}; notifications ${d.notifications[0]} -> ${d.notifications[1]}`);
  const bal = Object.entries(d.balances);
  if (bal.length) out.push(`balances: ${bal.map(([u, [b, a]]) => `${u} ${b} -> ${a}`).join(', ')}`);
  return out.join('\n');
}
