import { displayed } from '../io/display-name.js';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { hex } from '../domain/gfn.js';
import type { PageTrackEvent, WarnKind, EventType } from '../events/types.js';
import { copyState, diffStates } from '../timetravel/diff.js';
import { firstTrue, parseExpr } from '../timetravel/expr.js';
import { type EventFilter, checkFilter, isEmptyFilter } from '../timetravel/filter.js';
import { gfnHistory, whyTracked } from '../timetravel/history.js';
import { parsePosition } from '../timetravel/position.js';
import { TimeMachine } from '../timetravel/time-machine.js';
import { formatDiff, formatEvent, formatTouches, formatWhy } from './format-events.js';
import { progressBar } from './progress.js';
import { truncationNote } from './load.js';

import { UsageError } from './errors.js';
import { touchJson, whyJson } from './json-output.js';
import { natsLogOptions } from './fleet-command.js';
export { UsageError };

export function parseGfn(v: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n >= 2 ** 40) throw new InvalidArgumentError(`'${v}' is not a gfn (a decimal or 0x-hex integer below 2^40)`);
  return n;
}

/** An option's non-negative integer (exact: digits only, and no more than 2^53 - 1). */
export function parseInt10(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

interface IndexOpts {
  interval?: number;
  rebuildIndex?: boolean;
  quiet?: boolean;
  index?: string;
}

/** Opens a log's time machine, building the index (with a progress bar) when needed. */
export async function openMachine(log: string, o: IndexOpts): Promise<TimeMachine> {
  const bar = progressBar('index', { quiet: o.quiet });
  let tm: TimeMachine;
  try {
    tm = await TimeMachine.open(log, {
      ...(o.interval ? { interval: o.interval } : {}),
      ...(o.rebuildIndex ? { rebuild: true } : {}),
      ...(o.index !== undefined ? { indexPath: o.index } : {}),
      onProgress: (p) => bar.update(p),
      onNote: (note) => {
        bar.stop();
        console.error(displayed(`pagetrack: ${note}`));
      },
    });
  } finally {
    bar.stop();
  }
  const { truncatedBytes, truncatedLine, events } = tm.index.log;
  const note = truncationNote(log, truncatedBytes ? { events, truncated: { line: truncatedLine, bytes: truncatedBytes } } : undefined);
  if (note) console.error(note);
  return tm;
}

function withIndexOptions(c: Command): Command {
  return c
    .option('--interval <N>', 'events between index checkpoints (rebuilds the index when it differs)', parseInt10('--interval'))
    .option('--rebuild-index', 'rebuild the index')
    .option('--index <path>', 'where the index lives (default: beside the log, or in $PAGETRACK_INDEX_DIR)')
    .option('--quiet', 'no progress bar')
    .option('--json', 'print JSON');
}

function filterOptions(c: Command): Command {
  return c
    .option('--gfn <G>', 'events that name, write or map gfn G', parseGfn)
    .option('--slot <S>', 'events of memslot S', parseInt10('--slot'))
    .option('--as <A>', 'events of address space A', parseInt10('--as'))
    .option('--type <T>', 'events of type T')
    .option('--user <U>', 'events by user U')
    .option('--node <N>', 'events of notifier N')
    .addOption(new Option('--warn [kind]', 'WARN events (of one kind)'));
}

function filterFrom(o: { gfn?: number; slot?: number; as?: number; type?: string; user?: string; node?: string; warn?: string | boolean }): EventFilter {
  return checkFilter({
    ...(o.gfn !== undefined ? { gfn: o.gfn } : {}),
    ...(o.slot !== undefined ? { slot: o.slot } : {}),
    ...(o.as !== undefined ? { as: o.as } : {}),
    ...(o.type !== undefined ? { type: o.type as EventType } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.node !== undefined ? { node: o.node } : {}),
    ...(o.warn !== undefined && o.warn !== false ? { warn: o.warn === true ? true : (o.warn as WarnKind) } : {}),
  });
}

const where = (tm: TimeMachine) => `e${tm.seq} (c${tm.cmd})`;

export function addTimeTravelCommands(program: Command): void {
  withIndexOptions(
    filterOptions(
      program
        .command('step')
        .description('move from a position by events or commands, or to the next/previous event matching a filter')
        .argument('<log>', 'event log, or - for standard input')
        .requiredOption('--at <P>', 'start position')
        .option('--back', 'step backwards')
        .addOption(new Option('--by <unit>', 'step unit').choices(['event', 'command']).default('event'))
        .option('--count <N>', 'how many steps', parseInt10('--count'), 1),
    ),
  ).action(async (log: string, o: IndexOpts & { json?: boolean; at: string; back?: boolean; by: string; count: number } & Parameters<typeof filterFrom>[0]) => {
    const filter = filterFrom(o);
    const tm = await openMachine(log, o);
    await tm.seekTo(parsePosition(o.at));
    const fromPoint = tm.point;
    const from = fromPoint.event;
    if (!isEmptyFilter(filter)) {
      let hit: PageTrackEvent | undefined;
      for (let i = 0; i < o.count; i++) {
        hit = await tm.find(filter, o.back ? -1 : 1);
        if (!hit) break;
        await tm.seek(o.back ? hit.seq - 1 : hit.seq);
      }
      if (!hit) {
        console.log(o.json ? JSON.stringify({ found: false, from: fromPoint, position: tm.point }) : `no ${o.back ? 'earlier' : 'later'} event matches; still at ${where(tm)}`);
        process.exitCode = 1;
        return;
      }
      // Forwards: stop just after the match; backwards: just before it, so stepping forward replays it.
      console.log(o.json ? JSON.stringify({ found: true, from: fromPoint, position: tm.point, event: hit }) : `${where(tm)}  ${o.back ? 'before' : 'after'}: ${formatEvent(hit)}`);
      return;
    }
    if (o.by === 'command') await tm.stepCommands(o.back ? -o.count : o.count);
    else await tm.stepEvents(o.back ? -o.count : o.count);
    const lo = Math.min(from, tm.seq);
    const hi = Math.max(from, tm.seq);
    const crossed: PageTrackEvent[] = [];
    for await (const e of tm.events(lo, hi)) crossed.push(e);
    if (o.json) {
      console.log(JSON.stringify({ from: fromPoint, position: tm.point, direction: o.back ? 'back' : 'forward', events: crossed }));
      return;
    }
    console.log(`${where(tm)}  (${o.back ? 'undid' : 'applied'} ${crossed.length} event${crossed.length === 1 ? '' : 's'})`);
    for (const e of crossed.slice(0, 50)) console.log(`  ${o.back ? '-' : '+'} ${formatEvent(e)}`);
    if (crossed.length > 50) console.log(`  ... ${crossed.length - 50} more (--json lists all)`);
  });

  withIndexOptions(
    program
      .command('diff')
      .description('what changed between two positions')
      .argument('<log>', 'event log, or - for standard input')
      .argument('<a>', 'first position')
      .argument('<b>', 'second position'),
  ).action(async (log: string, a: string, b: string, o: IndexOpts & { json?: boolean }) => {
    const pa = parsePosition(a);
    const pb = parsePosition(b);
    const tm = await openMachine(log, o);
    await tm.seekTo(pa);
    const before = copyState(tm.state, tm.point);
    await tm.seekTo(pb);
    const d = diffStates(before, copyState(tm.state, tm.point));
    console.log(o.json ? JSON.stringify(d, null, 2) : formatDiff(d));
  });

  withIndexOptions(
    natsLogOptions(program.command('history'))
      .argument('[log]', 'event log, or - for standard input (or --nats URL --vm HOST/VM)')
      .description('every event that touched a gfn, with the commands that caused them')
      .requiredOption('--gfn <G>', 'the gfn', parseGfn)
      .option('--as <A>', 'only this address space', parseInt10('--as'))
      .option('--to <P>', 'up to this position'),
  ).action(async (log: string, o: IndexOpts & { json?: boolean; gfn: number; as?: number; to?: string }) => {
    const tm = await openMachine(log, o);
    const to = o.to ? await tm.resolve(parsePosition(o.to)) : tm.total;
    const touches = await gfnHistory(tm, o.gfn, { ...(o.as !== undefined ? { as: o.as } : {}), to });
    if (touches.length === 0) throw new UsageError(`no event of ${log} up to e${to} touches gfn ${hex(o.gfn)}${o.as !== undefined ? ` in address space ${o.as}` : ''}: no memslot ever held it`);
    if (o.json) console.log(JSON.stringify({ gfn: o.gfn, as: o.as ?? null, to: await tm.pointAt(to), touches: touches.map(touchJson) }, null, 2));
    else {
      console.log(`gfn ${hex(o.gfn)}: ${touches.length} events up to e${to}`);
      console.log(formatTouches(touches));
    }
  });

  withIndexOptions(
    natsLogOptions(program.command('why'))
      .argument('[log]', 'event log, or - for standard input (or --nats URL --vm HOST/VM)')
      .description('why a gfn is tracked at a position: its unmatched adds, by user')
      .requiredOption('--gfn <G>', 'the gfn', parseGfn)
      .requiredOption('--at <P>', 'the position')
      .option('--as <A>', 'address space', parseInt10('--as'), 0),
  ).action(async (log: string, o: IndexOpts & { json?: boolean; gfn: number; at: string; as: number }) => {
    const tm = await openMachine(log, o);
    const at = await tm.resolve(parsePosition(o.at));
    const w = await whyTracked(tm, o.gfn, o.as, at);
    if (!w.slot) throw new UsageError(`after e${at} no memslot of address space ${o.as} holds gfn ${hex(o.gfn)}`);
    console.log(o.json ? JSON.stringify(whyJson(w), null, 2) : formatWhy(w));
  });

  withIndexOptions(
    program
      .command('bisect')
      .description('the first event after which an expression holds (README, "Expressions")')
      .argument('<log>', 'event log, or - for standard input')
      .requiredOption('--when <expr>', 'e.g. "count(0x1234) > 0"')
      .option('--between-commands', 'only states between commands count (not those inside one)'),
  ).action(async (log: string, o: IndexOpts & { json?: boolean; when: string; betweenCommands?: boolean }) => {
    const p = parseExpr(o.when);
    const tm = await openMachine(log, o);
    const seq = await firstTrue(tm, p, { betweenCommands: o.betweenCommands === true });
    if (seq === undefined) {
      console.log(o.json ? JSON.stringify({ found: false, when: o.when }) : displayed(`never: '${o.when}' holds at no point of ${log}`));
      process.exitCode = 1;
      return;
    }
    const e = seq > 0 ? await tm.eventAt(seq) : undefined;
    if (o.json) console.log(JSON.stringify({ found: true, when: o.when, position: { event: seq, command: e?.cmd ?? 0 }, event: e }));
    else console.log(seq === 0 ? `holds from the start (e0)` : `first true after e${seq} (c${e!.cmd}): ${formatEvent(e!)}`);
  });
}
