/**
 * The "when did X first become true" language (README, "Expressions"): comparisons and boolean
 * logic over a few functions of the state, e.g.
 *   count(0x1234) > 0
 *   lpage(2, 0x1234) < 0 || warns("lpage-negative") > 0
 *   writable_tracked() > 0 && balance("vgpu0") < 0
 * Parse errors give the column and what was expected.
 */
import type { EventType, PageTrackEvent } from '../events/types.js';
import { frameStart } from '../domain/gfn.js';
import { decode as decodeSpte, spteKey } from '../projections/sptes.js';
import { getProfile } from '../domain/profile.js';
import { PageTrackState } from '../projections/state.js';
import type { TimeMachine } from './time-machine.js';

export class ExprError extends Error {
  constructor(
    readonly column: number,
    readonly reason: string,
  ) {
    super(`column ${column}: ${reason}`);
    this.name = 'ExprError';
  }
}

type Value = number | string | boolean;
type Node =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'call'; name: string; args: Node[]; col: number }
  | { k: 'not'; e: Node }
  | { k: 'neg'; e: Node }
  | { k: 'bin'; op: string; l: Node; r: Node };

interface FnSpec {
  readonly args: ReadonlyArray<'number' | 'string'>;
  readonly optional: number;
  readonly doc: string;
  /** Event types that can change the value (the scan re-evaluates only after those). */
  readonly on: readonly EventType[];
  readonly eval: (s: PageTrackState, args: Array<number | string>) => number;
  /** A value kept up to date event by event, for a scan (bisect): where `eval` would rescan the state. */
  readonly incremental?: () => Incremental;
}

/** A function's value maintained along a scan: rebuilt from a state, then moved by each event applied to it. */
interface Incremental {
  rebuild(s: PageTrackState): void;
  /** After `e` was applied to `s`. */
  apply(e: PageTrackEvent, s: PageTrackState): void;
  value(): number;
}

const SLOT_EVENTS: EventType[] = ['memslot-created', 'memslot-moved', 'memslot-deleted'];

function slotCount(s: PageTrackState, gfn: number, as: number): number {
  const slot = s.memslots.find(as, gfn);
  return slot ? slot.track[0]![gfn - slot.base]! : 0;
}

const FUNCTIONS: Readonly<Record<string, FnSpec>> = {
  count: { args: ['number', 'number'], optional: 1, doc: 'count(gfn[, as]): the write-track count', on: ['track-count-step', ...SLOT_EVENTS], eval: (s, [g, as]) => slotCount(s, g as number, (as as number) ?? 0) },
  lpage: {
    args: ['number', 'number', 'number'],
    optional: 1,
    doc: 'lpage(level, gfn[, as]): disallow_lpage of the frame holding gfn',
    on: ['lpage-step', 'lpage-guard', ...SLOT_EVENTS],
    eval: (s, [level, g, as]) => {
      const slot = s.memslots.find((as as number) ?? 0, g as number);
      if (!slot || (level !== 2 && level !== 3)) return 0;
      const span = 512 ** ((level as number) - 1);
      return slot.lpage[(level as number) - 2]![Math.floor((g as number) / span) - Math.floor(slot.base / span)] ?? 0;
    },
  },
  balance: { args: ['string'], optional: 0, doc: "balance(user): the user's accepted adds minus removes", on: ['track-count-step'], eval: (s, [u]) => s.tallies.balances.get(u as string) ?? 0 },
  spte: {
    args: ['number', 'number'],
    optional: 1,
    doc: 'spte(gfn[, as]): 1 writable, 0 read-only, -1 unmapped',
    on: ['spte-installed', 'spte-zapped', 'spte-write-protected'],
    eval: (s, [g, as]) => {
      const x = s.sptes.covering((as as number) ?? 0, g as number);
      return x ? (x.writable ? 1 : 0) : -1;
    },
  },
  writable_tracked: {
    args: [],
    optional: 0,
    doc: 'writable_tracked(): writable SPTEs mapping a gfn whose count is nonzero (B5)',
    on: ['spte-installed', 'spte-zapped', 'spte-write-protected', 'track-count-step', ...SLOT_EVENTS],
    incremental: () => new WritableTracked(),
    eval: (s) => {
      let n = 0;
      for (const x of s.sptes.list()) {
        if (!x.writable) continue;
        const span = 512 ** (x.level - 1);
        outer: for (const slot of s.memslots.slots.values()) {
          if (slot.as !== x.as) continue;
          const t = slot.track[0]!;
          for (let g = Math.max(x.gfn, slot.base); g < Math.min(x.gfn + span, slot.base + slot.npages); g++) {
            if (t[g - slot.base] !== 0) {
              n++;
              break outer;
            }
          }
        }
      }
      return n;
    },
  },
  warns: { args: ['string'], optional: 1, doc: 'warns([kind]): WARNs so far', on: ['warn'], eval: (s, [k]) => (k === undefined ? Object.values(s.tallies.warns).reduce((a, b) => a + b, 0) : (s.tallies.warns as Record<string, number>)[k as string] ?? 0) },
  flushes: { args: [], optional: 0, doc: 'flushes(): remote TLB flushes so far', on: ['tlb-flushed'], eval: (s) => s.tallies.tlbFlushes },
  notifications: { args: [], optional: 0, doc: 'notifications(): deliveries so far', on: ['notification'], eval: (s) => s.tallies.notifications },
  sps: { args: [], optional: 0, doc: 'sps(): live shadow pages', on: ['sp-created', 'sp-zapped'], eval: (s) => s.shadowPages.pages.size },
  registered: { args: ['string'], optional: 0, doc: 'registered(node): 1 if the node is registered', on: ['notifier-registered', 'notifier-unregistered'], eval: (s, [n]) => (s.notifiers.has(n as string) ? 1 : 0) },
};

export const FUNCTION_DOCS = Object.values(FUNCTIONS).map((f) => f.doc);

/** A parsed expression: evaluate it on a state; `on` lists the event types that can change it. */
export interface Predicate {
  readonly text: string;
  readonly on: ReadonlySet<EventType>;
  test(s: PageTrackState): boolean;
  /** The expression's value (a number, string or boolean) on a state. */
  value(s: PageTrackState): number | string | boolean;
  /** For a scan over one state: `apply` each event after the state applied it; `test` and `value` then cost no rescans. */
  tracker(s: PageTrackState): { apply(e: PageTrackEvent, s: PageTrackState): void; test(s: PageTrackState): boolean; value(s: PageTrackState): number | string | boolean };
}

export function parseExpr(text: string): Predicate {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i]!;
  const take = () => tokens[i++]!;
  const expect = (t: string, what: string) => {
    const tok = peek();
    if (tok.t !== t) throw new ExprError(tok.col, `expected ${what}, found ${describe(tok)}`);
    return take();
  };
  const on = new Set<EventType>();

  /** A left-associative run of `next` joined by any of `ops`. */
  const chain =
    (ops: readonly string[], next: () => Node) =>
    (): Node => {
      let l = next();
      while (ops.includes(peek().t)) {
        const op = take().t;
        l = { k: 'bin', op, l, r: next() };
      }
      return l;
    };
  const or = chain(['||'], () => and());
  const and = chain(['&&'], () => unary());
  const unary = (): Node => {
    if (peek().t === '!') {
      take();
      return { k: 'not', e: unary() };
    }
    return cmp();
  };
  const cmp = (): Node => {
    const l = sum();
    if (['==', '!=', '<', '<=', '>', '>='].includes(peek().t)) {
      const op = take().t;
      return { k: 'bin', op, l, r: sum() };
    }
    return l;
  };
  const sum = chain(['+', '-'], () => atom());
  const atom = (): Node => {
    const tok = peek();
    if (tok.t === 'num') return take(), { k: 'num', v: tok.v as number };
    if (tok.t === 'str') return take(), { k: 'str', v: tok.v as string };
    if (tok.t === '-') return take(), { k: 'neg', e: atom() };
    if (tok.t === '(') {
      take();
      const e = or();
      expect(')', "')'");
      return e;
    }
    if (tok.t === 'ident') {
      take();
      const name = tok.v as string;
      const fn = FUNCTIONS[name];
      if (!fn) throw new ExprError(tok.col, `unknown function '${name}' (known: ${Object.keys(FUNCTIONS).join(', ')})`);
      expect('(', `'(' after ${name}`);
      const args: Node[] = [];
      if (peek().t !== ')') {
        args.push(or());
        while (peek().t === ',') {
          take();
          args.push(or());
        }
      }
      const close = expect(')', `',' or ')' in the arguments of ${name}`);
      const min = fn.args.length - fn.optional;
      if (args.length < min || args.length > fn.args.length) {
        throw new ExprError(close.col, `${name} takes ${min === fn.args.length ? min : `${min} to ${fn.args.length}`} argument${fn.args.length === 1 ? '' : 's'}, got ${args.length}: ${fn.doc}`);
      }
      args.forEach((a, j) => {
        const want = fn.args[j]!;
        const got = a.k === 'str' ? 'string' : a.k === 'num' || a.k === 'neg' ? 'number' : 'number';
        if (want !== got) throw new ExprError(tok.col, `argument ${j + 1} of ${name} must be a ${want}: ${fn.doc}`);
      });
      for (const t of fn.on) on.add(t);
      return { k: 'call', name, args, col: tok.col };
    }
    throw new ExprError(tok.col, `expected a number, a string, a function call or '(', found ${describe(tok)}`);
  };

  const root = or();
  if (peek().t !== 'end') throw new ExprError(peek().col, `expected an operator or the end, found ${describe(peek())}`);
  return {
    text,
    on,
    test: (s) => truthy(evaluate(root, s)),
    value: (s) => evaluate(root, s),
    tracker: (s0) => {
      const live = new Map<Node, Incremental>();
      const visit = (n: Node): void => {
        if (n.k === 'call') {
          const make = FUNCTIONS[n.name]!.incremental;
          if (make && n.args.length === 0) {
            const inc = make();
            inc.rebuild(s0);
            live.set(n, inc);
          }
          n.args.forEach(visit);
        } else if (n.k === 'not' || n.k === 'neg') visit(n.e);
        else if (n.k === 'bin') {
          visit(n.l);
          visit(n.r);
        }
      };
      visit(root);
      const incs = [...live.values()];
      return { apply: (e, s) => incs.forEach((i) => i.apply(e, s)), test: (s) => truthy(evaluate(root, s, live)), value: (s) => evaluate(root, s, live) };
    },
  };
}

/**
 * writable_tracked() kept up to date (B5): the writable SPTEs that map a gfn whose write count
 * is nonzero. Per 2M and 1G frame it keeps how many gfns have a nonzero count, so an SPTE's
 * status is a lookup; an SPTE event re-decides that SPTE, a count going to or from 0 re-decides
 * the three SPTEs that can map the gfn, and a memslot change (rare) rebuilds it all.
 */
class WritableTracked implements Incremental {
  private readonly nonzeroIn = new Map<number, number>(); // spteKey of a 2M/1G frame → gfns with a nonzero count in it
  private readonly counted = new Set<number>(); // spteKeys of writable SPTEs over a tracked gfn

  rebuild(s: PageTrackState): void {
    this.nonzeroIn.clear();
    this.counted.clear();
    for (const slot of s.memslots.slots.values()) {
      const t = slot.track[0]!;
      for (let i = 0; i < t.length; i++) if (t[i] !== 0) this.bump(slot.as, slot.base + i, 1);
    }
    s.sptes.sptes.forEach((_, key) => this.decide(s, key));
  }

  apply(e: PageTrackEvent, s: PageTrackState): void {
    switch (e.type) {
      case 'spte-installed':
      case 'spte-zapped':
      case 'spte-write-protected':
        return this.decide(s, spteKey(e.as, e.level, e.gfn));
      case 'track-count-step': {
        if (e.mode !== 0 || (e.count === 0) === (e.count - e.delta === 0)) return;
        this.bump(e.as, e.gfn, e.count === 0 ? -1 : 1);
        for (let level = 1; level <= 3; level++) this.decide(s, spteKey(e.as, level, frameStart(e.gfn, level)));
        return;
      }
      case 'memslot-created':
      case 'memslot-moved':
      case 'memslot-deleted':
      case 'vm-destroyed':
        return this.rebuild(s);
      default:
    }
  }

  value(): number {
    return this.counted.size;
  }

  private bump(as: number, gfn: number, d: number): void {
    for (let level = 2; level <= 3; level++) {
      const k = spteKey(as, level, frameStart(gfn, level));
      const n = (this.nonzeroIn.get(k) ?? 0) + d;
      if (n === 0) this.nonzeroIn.delete(k);
      else this.nonzeroIn.set(k, n);
    }
  }

  private decide(s: PageTrackState, key: number): void {
    const { as, level, gfn } = decodeSpte(key, true);
    const tracked = s.sptes.sptes.get(key) === true && (level === 1 ? slotCount(s, gfn, as) !== 0 : (this.nonzeroIn.get(key) ?? 0) > 0);
    if (tracked) this.counted.add(key);
    else this.counted.delete(key);
  }
}

function evaluate(n: Node, s: PageTrackState, live?: ReadonlyMap<Node, Incremental>): Value {
  switch (n.k) {
    case 'num':
      return n.v;
    case 'str':
      return n.v;
    case 'not':
      return !truthy(evaluate(n.e, s, live));
    case 'neg':
      return -Number(evaluate(n.e, s, live));
    case 'call': {
      const inc = live?.get(n);
      if (inc) return inc.value();
      return FUNCTIONS[n.name]!.eval(s, n.args.map((a) => evaluate(a, s, live) as number | string));
    }
    case 'bin': {
      if (n.op === '&&') return truthy(evaluate(n.l, s, live)) && truthy(evaluate(n.r, s, live));
      if (n.op === '||') return truthy(evaluate(n.l, s, live)) || truthy(evaluate(n.r, s, live));
      const l = Number(evaluate(n.l, s, live));
      const r = Number(evaluate(n.r, s, live));
      switch (n.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '==':
          return l === r;
        case '!=':
          return l !== r;
        case '<':
          return l < r;
        case '<=':
          return l <= r;
        case '>':
          return l > r;
        default:
          return l >= r;
      }
    }
  }
}

const truthy = (v: Value): boolean => (typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : v.length > 0);

interface Token {
  t: string;
  v?: number | string;
  col: number;
}

function describe(t: Token): string {
  if (t.t === 'end') return 'the end of the expression';
  if (t.t === 'num') return `the number ${t.v}`;
  if (t.t === 'str') return `the string ${JSON.stringify(t.v)}`;
  if (t.t === 'ident') return `'${t.v}'`;
  return `'${t.t}'`;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['&&', '||', '==', '!=', '<=', '>='].includes(two)) {
      out.push({ t: two, col });
      i += 2;
      continue;
    }
    if ('()<>,!+-'.includes(c)) {
      out.push({ t: c, col });
      i++;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|\d+)/.exec(text.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[1]), col });
      i += num[1]!.length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0], col });
      i += id[0].length;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new ExprError(col, 'this string has no closing quote');
      out.push({ t: 'str', v: text.slice(i + 1, end), col });
      i = end + 1;
      continue;
    }
    if (c === '=' || c === '&' || c === '|') throw new ExprError(col, `'${c}' must be doubled ('${c}${c}')`);
    throw new ExprError(col, `unexpected character '${c}'`);
  }
  out.push({ t: 'end', col: text.length + 1 });
  return out;
}

/**
 * The first event after which `p` holds, scanning the log from the start with a state of its own
 * (predicates need not be monotone, so this is a scan, not a binary search); 0 if it holds
 * before any event, undefined if never. With `betweenCommands`, only the states between commands
 * count (what a caller of the kernel could observe: a command's events happen under one lock),
 * and the answer is the last event of the first command after which `p` holds.
 */
export async function firstTrue(tm: TimeMachine, p: Predicate, options: { betweenCommands?: boolean } = {}): Promise<number | undefined> {
  const s = new PageTrackState(getProfile(tm.index.log.profile));
  const t = p.tracker(s);
  if (t.test(s)) return 0;
  const between = options.betweenCommands === true;
  let dirty = false;
  let lastSeq = 0;
  let lastCmd = -1;
  for await (const batch of tm.batches(0)) {
    for (const e of batch) {
      if (between && dirty && e.cmd !== lastCmd) {
        if (t.test(s)) return lastSeq;
        dirty = false;
      }
      s.apply(e);
      t.apply(e, s);
      lastSeq = e.seq;
      lastCmd = e.cmd;
      if (!p.on.has(e.type)) continue;
      if (!between) {
        if (t.test(s)) return e.seq;
      } else dirty = true;
    }
  }
  return between && dirty && t.test(s) ? lastSeq : undefined;
}
