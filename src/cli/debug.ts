/**
 * `pagetrack debug LOG`: a terminal session that moves one state through the log's past. Reads
 * commands line by line (a terminal or a pipe); the prompt always shows the position.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { getProfile } from '../domain/profile.js';
import { hex } from '../domain/gfn.js';
import { snapshot } from '../projections/snapshot.js';
import { type FrozenPoint, copyState, diffStates } from '../timetravel/diff.js';
import { type EventFilter, checkFilter } from '../timetravel/filter.js';
import { whyTracked } from '../timetravel/history.js';
import { parsePosition } from '../timetravel/position.js';
import type { TimeMachine } from '../timetravel/time-machine.js';
import { formatStateView } from './state-view.js';
import { formatDiff, formatEvent, formatWhy } from './format-events.js';
import { whyJson } from './json-output.js';
import { openMachine, parseGfn, parseInt10 } from './timetravel-commands.js';

const HELP = `commands (P is a position: e<N>, c<K>, start, end):
  n [N]        forward N events (default 1)       b [N]     back N events
  nc [N]       forward N commands                  bc [N]    back N commands
  seek P       go to P                             event [N] show event N (default: the current one)
  find F...    next event matching filters, e.g. find gfn=0x1234 type=warn user=vgpu0 node=x slot=0 as=0 warn
               (or as on the command line: find --gfn 0x1234 --type warn --user vgpu0 --warn)
  rfind F...   previous event matching
  state        the whole state here                gfn G     count, lpage, SPTE and why for gfn G
  mark NAME    bookmark this point                 diff NAME what changed since the bookmark
  marks        list bookmarks                      help      this text
  quit         Enter repeats the last n, b, nc, bc, find or rfind; in a terminal, arrows edit and
               recall lines and Tab completes commands and filters`;

const COMMANDS = ['n', 'next', 'b', 'back', 'nc', 'bc', 'seek', 'event', 'find', 'rfind', 'state', 'gfn', 'mark', 'marks', 'diff', 'help', 'quit'];
const FILTERS = ['gfn=', 'slot=', 'as=', 'type=', 'user=', 'node=', 'warn', '--gfn', '--slot', '--as', '--type', '--user', '--node', '--warn'];
/** Commands Enter repeats, as gdb and rr do for stepping. */
const REPEATABLE = new Set(['n', 'next', 'b', 'back', 'nc', 'bc', 'find', 'rfind']);

/** Tab completion: a command first, then (after find/rfind) the filters. */
export function completeDebugLine(line: string): [string[], string] {
  const words = line.split(/\s+/);
  const last = words.at(-1) ?? '';
  const pool = words.length <= 1 ? COMMANDS : words[0] === 'find' || words[0] === 'rfind' ? FILTERS : [];
  const hits = pool.filter((c) => c.startsWith(last));
  return [hits, last];
}

/** The CLI's form (`--type warn --gfn 0x12 --warn`) as the session's (`type=warn gfn=0x12 warn`). */
function filterWords(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) out.push(a);
    else if (a === '--warn') out.push(args[i + 1] !== undefined && !args[i + 1]!.startsWith('--') ? `warn=${args[++i]}` : 'warn');
    else out.push(`${a.slice(2)}=${args[++i] ?? ''}`);
  }
  return out;
}

function parseFilter(words: string[]): EventFilter {
  const f: Record<string, unknown> = {};
  for (const w of words) {
    const [k, v] = w.split('=', 2) as [string, string | undefined];
    if (k === 'warn') f.warn = v ?? true;
    else if (v === undefined) throw new Error(`filter '${w}' needs a value (${k}=...)`);
    else if (k === 'gfn') f.gfn = parseGfn(v);
    else if (k === 'slot' || k === 'as') f[k] = parseInt10(k)(v);
    else if (k === 'type' || k === 'user' || k === 'node') f[k] = v;
    else throw new Error(`unknown filter '${k}' (gfn, slot, as, type, user, node, warn)`);
  }
  return checkFilter(f as EventFilter);
}

/**
 * `json`: scripted use. Each command's answer is one JSON line (`input`, `position`, and what it
 * shows: `event`, `state`, `gfn`, `diff`, `marks`, `help`, or `error`); no banner, no prompt.
 */
export async function runDebugSession(tm: TimeMachine, input: NodeJS.ReadableStream, print: (s: string) => void, prompt: (s: string) => void, terminal?: NodeJS.WritableStream, json = false): Promise<void> {
  const marks = new Map<string, FrozenPoint>();
  const here = () => `e${tm.seq} c${tm.cmd}`;
  let line = '';
  /** One answer: text, or (--json) one JSON line. */
  const answer = (text: () => string, data: () => Record<string, unknown>) => print(json ? JSON.stringify({ input: line, position: { event: tm.seq, command: tm.cmd }, ...data() }) : text());
  const showCurrent = async () => {
    const e = tm.seq === 0 ? undefined : await tm.eventAt(tm.seq);
    answer(() => (e === undefined ? `at ${here()} (before the first event)` : `at ${here()}: ${formatEvent(e)}`), () => (e === undefined ? {} : { event: e }));
  };
  if (!json) {
    print(`pagetrack debug: ${tm.log}, ${tm.total} events, ${tm.index.checkpoints.length} checkpoints. 'help' lists commands.`);
    await showCurrent();
  }
  // In a terminal, readline edits lines, keeps their history and completes; from a pipe, plain lines.
  const rl = terminal ? createInterface({ input, output: terminal, terminal: true, historySize: 1000, completer: completeDebugLine, crlfDelay: Infinity }) : createInterface({ input, crlfDelay: Infinity, terminal: false });
  const ask = (text: string) => {
    if (json) return;
    if (!terminal) return prompt(text);
    rl.setPrompt(text);
    rl.prompt();
  };
  ask(`${here()}> `);
  let previous = '';
  for await (const raw of rl) {
    line = raw.trim() === '' && REPEATABLE.has(previous.split(/\s+/)[0]!) ? previous : raw.trim();
    if (line !== '') previous = line;
    const [cmd = '', ...rawArgs] = line.split(/\s+/);
    const args = cmd === 'find' || cmd === 'rfind' ? filterWords(rawArgs) : rawArgs;
    const count = () => (args[0] ? parseInt10('the count')(args[0]) : 1);
    try {
      switch (cmd) {
        case '':
          break;
        case 'n':
        case 'next':
          await tm.stepEvents(count());
          await showCurrent();
          break;
        case 'b':
        case 'back':
          await tm.stepEvents(-count());
          await showCurrent();
          break;
        case 'nc':
          await tm.stepCommands(count());
          await showCurrent();
          break;
        case 'bc':
          await tm.stepCommands(-count());
          await showCurrent();
          break;
        case 'seek':
        case 'g':
          if (!args[0]) throw new Error('seek needs a position (e<N>, c<K>, start, end)');
          await tm.seekTo(parsePosition(args[0]));
          await showCurrent();
          break;
        case 'event': {
          const n = args[0] ? parseInt10('the event')(args[0].replace(/^e/, '')) : tm.seq;
          const e = await tm.eventAt(n);
          answer(() => formatEvent(e), () => ({ event: e }));
          break;
        }
        case 'find':
        case 'rfind': {
          const hit = await tm.find(parseFilter(args), cmd === 'find' ? 1 : -1);
          if (!hit) answer(() => `no ${cmd === 'find' ? 'later' : 'earlier'} event matches`, () => ({ found: false }));
          else {
            await tm.seek(hit.seq);
            await showCurrent();
          }
          break;
        }
        case 'state':
          {
            const snap = snapshot(tm.state, getProfile(tm.state.profile).trackModes);
            answer(() => formatStateView(snap, {}), () => ({ state: snap }));
          }
          break;
        case 'gfn': {
          if (!args[0]) throw new Error('gfn needs a gfn');
          const g = parseGfn(args[0]);
          const as = args[1] ? parseInt10('the address space')(args[1]) : 0;
          const slot = tm.state.memslots.find(as, g);
          if (!slot) {
            answer(() => `no memslot of address space ${as} holds gfn ${hex(g)} at ${here()}`, () => ({ gfn: { gfn: g, as, slot: null } }));
            break;
          }
          const spte = tm.state.sptes.covering(as, g);
          const l2 = slot.lpage[0]![Math.floor(g / 512) - Math.floor(slot.base / 512)];
          const l3 = slot.lpage[1]![Math.floor(g / 262144) - Math.floor(slot.base / 262144)];
          const at = tm.seq;
          const w = await whyTracked(tm, g, as, at);
          answer(
            () => `gfn ${hex(g)} (as ${as}, slot ${slot.id}): count ${slot.track[0]![g - slot.base]}, disallow_lpage 2M ${l2} 1G ${l3}, SPTE ${spte ? `level ${spte.level} ${spte.writable ? 'writable' : 'read-only'}` : 'none'}\n${formatWhy(w)}`,
            () => ({ gfn: { gfn: g, as, slot: slot.id, count: slot.track[0]![g - slot.base], lpage: { 2: l2, 3: l3 }, spte: spte ?? null }, why: whyJson(w) }),
          );
          break;
        }
        case 'mark':
          if (!args[0]) throw new Error('mark needs a name');
          marks.set(args[0], copyState(tm.state, tm.point));
          answer(() => `marked ${args[0]} at ${here()}`, () => ({ marked: args[0] }));
          break;
        case 'marks':
          answer(() => (marks.size ? [...marks].map(([k, p]) => `${k} e${p.at.event}`).join('\n') : 'no bookmarks'), () => ({ marks: Object.fromEntries([...marks].map(([k, p]) => [k, p.at])) }));
          break;
        case 'diff': {
          const m = args[0] ? marks.get(args[0]) : undefined;
          if (!m) throw new Error(args[0] ? `no bookmark '${args[0]}' (marks: ${[...marks.keys()].join(', ') || 'none'})` : 'diff needs a bookmark name');
          const d = diffStates(m, copyState(tm.state, tm.point));
          answer(() => formatDiff(d), () => ({ diff: d }));
          break;
        }
        case 'help':
        case '?':
          answer(() => HELP, () => ({ help: HELP }));
          break;
        case 'quit':
        case 'q':
        case 'exit':
          rl.close();
          return;
        default:
          answer(() => `unknown command '${cmd}'; 'help' lists commands`, () => ({ error: `unknown command '${cmd}'; 'help' lists commands` }));
      }
    } catch (err) {
      answer(() => `error: ${(err as Error).message}`, () => ({ error: (err as Error).message }));
    }
    ask(`${here()}> `);
  }
}

export function addDebugCommand(program: Command): void {
  program
    .command('debug')
    .description('a terminal session to move through the log: step, back, seek, show a gfn, diff from a bookmark')
    .argument('<log>', 'event log')
    .option('--at <P>', 'start position', 'start')
    .option('--interval <N>', 'events between index checkpoints', parseInt10('--interval'))
    .option('--quiet', 'no progress bar')
    .option('--json', 'scripted use: one JSON line per command (no banner, no prompt)')
    .action(async (log: string, o: { at: string; interval?: number; quiet?: boolean; json?: boolean }) => {
      const tm = await openMachine(log, o);
      await tm.seekTo(parsePosition(o.at));
      await runDebugSession(
        tm,
        process.stdin,
        (s) => console.log(s),
        (s) => process.stdout.write(s),
        process.stdin.isTTY && !o.json ? process.stdout : undefined,
        o.json === true,
      );
    });
}
