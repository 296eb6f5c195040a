import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { completeDebugLine } from '../src/cli/debug.js';
import { LINUX_4_6 } from '../src/domain/profile.js';
import { PageTrackState } from '../src/projections/state.js';
import { ExprError, parseExpr } from '../src/timetravel/expr.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
let LOG: string;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const json = (...args: string[]) => JSON.parse(run(...args, '--json').stdout);

beforeAll(() => {
  LOG = join(mkdtempSync(join(tmpdir(), 'pagetrack-ttcli-')), 'demo.log.ndjson');
  copyFileSync(join(ROOT, 'examples', 'demo.log.ndjson'), LOG);
});

describe('state --at, step, diff (the demo log)', () => {
  it('state --at c9 equals the plain replay to command 9', () => {
    expect(json('state', LOG, '--at', 'c9')).toEqual(json('state', LOG, '--command', '9'));
    expect(json('state', LOG, '--at', 'e20')).toEqual(json('state', LOG, '--event', '20'));
  });

  it('steps by command and by event, both ways, listing what it crossed', () => {
    expect(run('step', LOG, '--at', 'c9', '--by', 'command').stdout.split('\n').slice(0, 3)).toEqual([
      'e39 (c10)  (applied 4 events)',
      '  + e36 c10 command {"op":"track-remove","user":"vgpu0","as":0,"gfn":4660,"mode":0} line=15',
      '  + e37 c10 track-count-step as=0 slot=0 gfn=0x1234 mode=0 user=vgpu0 delta=-1 count=1',
    ]);
    expect(run('step', LOG, '--at', 'c12', '--back').stdout).toBe(
      'e48 (c12)  (undid 1 event)\n  - e49 c12 warn kind=lpage-negative fn=update_gfn_disallow_lpage_count as=0 slot=0 gfn=0x1234 level=3 index=0 value=-1\n',
    );
    const j = json('step', LOG, '--at', 'e10', '--count', '3');
    expect(j.from).toEqual({ event: 10, command: 2 });
    expect(j.position).toEqual({ event: 13, command: 4 });
    expect(j.events.map((e: { seq: number }) => e.seq)).toEqual([11, 12, 13]);
  });

  it('steps to the next or previous event matching a filter', () => {
    expect(run('step', LOG, '--at', 'start', '--gfn', '0x1234', '--type', 'track-count-step').stdout).toBe(
      'e19 (c6)  after: e19 c6 track-count-step as=0 slot=0 gfn=0x1234 mode=0 user=vgpu0 delta=1 count=1\n',
    );
    expect(run('step', LOG, '--at', 'end', '--back', '--warn', 'gfn-track-underflow').stdout).toBe(
      'e54 (c14)  before: e55 c14 warn kind=gfn-track-underflow fn=update_gfn_track as=0 slot=0 gfn=0x1234 mode=0 user=kvm-mmu value=0\n',
    );
    const none = run('step', LOG, '--at', 'c3', '--back', '--user', 'vgpu0');
    expect([none.status, none.stdout]).toEqual([1, 'no earlier event matches; still at e12 (c3)\n']);
    const bad = run('step', LOG, '--at', 'c3', '--type', 'track-bump');
    expect([bad.status, bad.stderr.split(' (one of')[0]]).toEqual([2, "pagetrack: unknown event type 'track-bump'"]);
  });

  it('diff lists counts, lpage frames, WARNs and balances that changed', () => {
    const d = json('diff', LOG, 'c9', 'c12');
    expect([d.from, d.to]).toEqual([{ event: 35, command: 9 }, { event: 49, command: 12 }]);
    expect(d.counts).toEqual([[0, 0, 0x1234, 2, 0]]);
    expect(d.lpage).toEqual([
      [0, 0, 2, 0x1200, 2, -1],
      [0, 0, 3, 0, 2, -1],
    ]);
    expect(d.warns).toEqual({ 'gfn-track-underflow': [0, 1], 'lpage-negative': [0, 2] });
    expect(d.balances).toEqual({ vgpu0: [1, -1] });
    const end = json('diff', LOG, 'c13', 'end');
    expect(end.slots).toEqual({ added: [], removed: ['as0/slot0'], changed: [] });
    expect(end.shadowPages.zapped).toEqual([{ sp: 1, as: 0, gfn: 0x1234, level: 2, direct: false, flood: 0 }]);
    expect(end.sptes.removed).toEqual([{ as: 0, level: 3, gfn: 0, writable: false }]);
  });
});

describe('history, why, bisect', () => {
  it('history: every event that touched the gfn, with its command', () => {
    const { touches: h, ...head } = json('history', LOG, '--gfn', '0x1234');
    expect(head).toEqual({ gfn: 0x1234, as: null, to: { event: 62, command: 14 } });
    expect(h).toHaveLength(38);
    expect(h[0]).toMatchObject({ position: { event: 4, command: 1 }, event: { seq: 4, type: 'memslot-created' }, command: { op: 'memslot-create' } });
    expect(h.find((t: { event: { type: string } }) => t.event.type === 'sp-created')).toMatchObject({ event: { seq: 32 }, command: { op: 'sp-create', level: 2 } });
    expect(run('history', LOG, '--gfn', '0x999999').stderr).toBe(`pagetrack: no event of ${LOG} up to e62 touches gfn 0x999999: no memslot ever held it\n`);
  });

  it('why: unmatched adds by user; a remove that took another user unit; refused steps', () => {
    const at9 = json('why', LOG, '--gfn', '0x1234', '--at', 'c9');
    expect(at9.count).toBe(2);
    expect(at9.position).toEqual({ event: 35, command: 9 });
    expect(at9.adds.map((t: { event: { user: string; seq: number } }) => [t.event.user, t.event.seq])).toEqual([
      ['vgpu0', 19],
      ['kvm-mmu', 33],
    ]);
    const at12 = json('why', LOG, '--gfn', '0x1234', '--at', 'c12');
    expect(at12.count).toBe(0);
    expect(at12.adds.map((t: { event: { user: string } }) => t.event.user)).toEqual(['kvm-mmu']);
    expect(at12.steals.map((t: { event: { user: string; seq: number } }) => [t.event.user, t.event.seq])).toEqual([['vgpu0', 41]]);
    expect(at12.refused.map((t: { event: { kind: string } }) => t.event.kind)).toEqual(['gfn-track-underflow']);
    expect(run('why', LOG, '--gfn', '0x1234', '--at', 'end').stderr).toBe('pagetrack: after e62 no memslot of address space 0 holds gfn 0x1234\n');
    // the explanation comes first, as sentences, in text and in JSON; the tables follow as evidence
    const explained = [
      'gfn 0x1234 (address space 0, slot 0) after e49: count 0 — not tracked.',
      '  kvm-mmu added 1 unit it has not removed: at e33 (c9 sp-create).',
      "  vgpu0 removed a unit at e41 (c11 track-remove) when it held none of its own: it took another user's unit (B1).",
      '  So the users believe they hold 1 unit where the count is 0: a unit was taken from under its holder, whose own remove will later underflow the count or strip another user.',
      '  1 step was refused with a WARN and left the count alone (B2): gfn-track-underflow at e45 (c12 track-remove).',
    ];
    expect(at12.explanation).toEqual(explained);
    expect(run('why', LOG, '--gfn', '0x1234', '--at', 'c12').stdout.split('\n').slice(0, 7)).toEqual([...explained, '', 'evidence:']);
    expect(json('why', LOG, '--gfn', '0x1234', '--at', 'c9').explanation).toEqual([
      'gfn 0x1234 (address space 0, slot 0) after e35: count 2 — tracked.',
      '  vgpu0 added 1 unit it has not removed: at e19 (c6 track-add).',
      '  kvm-mmu added 1 unit it has not removed: at e33 (c9 sp-create).',
    ]);
  });

  it('bisect: the first event after which an expression holds', () => {
    expect(json('bisect', LOG, '--when', 'count(0x1234) > 0')).toMatchObject({ found: true, position: { event: 19, command: 6 } });
    expect(json('bisect', LOG, '--when', 'lpage(2, 0x1234) < 0')).toMatchObject({ position: { event: 46, command: 12 } });
    expect(json('bisect', LOG, '--when', 'balance("vgpu0") < 0')).toMatchObject({ position: { event: 41, command: 11 } });
    expect(json('bisect', LOG, '--when', 'spte(0x1234) == 0 && registered("vgpu0")')).toMatchObject({ position: { event: 22 } });
    expect(json('bisect', LOG, '--when', 'warns() >= 3')).toMatchObject({ position: { event: 49 } }); // underflow e45, lpage-negative e47 and e49
    // Inside c6 the count goes up (e19) before the 1 GiB SPTE is write-protected (e22): a state
    // between events that no caller could observe, which --between-commands leaves out.
    expect(json('bisect', LOG, '--when', 'writable_tracked() > 0')).toMatchObject({ position: { event: 19, command: 6 } });
    expect(json('bisect', LOG, '--when', 'writable_tracked() > 0', '--between-commands')).toEqual({ found: false, when: 'writable_tracked() > 0' });
    expect(json('bisect', LOG, '--when', 'count(0x1234) > 0', '--between-commands')).toMatchObject({ position: { event: 23, command: 6 } });
    const never = run('bisect', LOG, '--when', 'count(0x1234) > 2');
    expect([never.status, never.stdout]).toEqual([1, `never: 'count(0x1234) > 2' holds at no point of ${LOG}\n`]);
  });

  it('positions beyond the end and malformed expressions get exact errors', () => {
    expect(run('state', LOG, '--at', 'e99').stderr).toBe(`pagetrack: e99 is beyond the end: ${LOG} has 62 events\n`);
    expect(run('diff', LOG, 'c1', 'c99').stderr).toBe(`pagetrack: c99 is beyond the end: the last command of ${LOG} is c14\n`);
    expect(run('state', LOG, '--at', '12').stderr).toBe("pagetrack: '12' is not a position: write e<N> (after event N), c<K> (after command K), t<SECONDS> (a trace timestamp), start or end\n");
    expect(run('bisect', LOG, '--when', 'count(0x1234 > 0').stderr).toBe("pagetrack: --when: column 17: expected ',' or ')' in the arguments of count, found the end of the expression\n");
  });
});

describe('the expression language', () => {
  const err = (text: string) => {
    try {
      parseExpr(text);
    } catch (e) {
      if (e instanceof ExprError) return e.message;
      throw e;
    }
    return 'parsed';
  };
  it.each([
    ['count(1) >', 'column 11: expected a number, a string, a function call or \'(\', found the end of the expression'],
    ['cont(1)', "column 1: unknown function 'cont' (known: count, lpage, balance, spte, writable_tracked, warns, flushes, notifications, sps, registered)"],
    ['count(1, 2, 3)', 'column 14: count takes 1 to 2 arguments, got 3: count(gfn[, as]): the write-track count'],
    ['balance(3)', 'column 1: argument 1 of balance must be a string: balance(user): the user\'s accepted adds minus removes'],
    ['count(1) = 1', "column 10: '=' must be doubled ('==')"],
    ['count(1) > 0 0', 'column 14: expected an operator or the end, found the number 0'],
    ['warns("x', 'column 7: this string has no closing quote'],
    ['count(1) # 2', "column 10: unexpected character '#'"],
  ])('%s -> %s', (text, message) => expect(err(text)).toBe(message));

  it('evaluates with precedence: ! over comparisons over && over ||', () => {
    const s = new PageTrackState(LINUX_4_6);
    expect(parseExpr('1 + 2 == 3 && !(flushes() > 0) || 0').test(s)).toBe(true);
    expect(parseExpr('0x10 == 16 && -1 < 0').test(s)).toBe(true);
    expect([...parseExpr('count(5) > 0 || warns("lpage-negative") > 0').on].sort()).toEqual(['memslot-created', 'memslot-deleted', 'memslot-moved', 'track-count-step', 'warn']);
  });
});

describe('pagetrack debug', () => {
  it('a session driven through a pipe: step, back, seek, show a gfn, bookmark and diff', () => {
    const input = ['n', 'n 5', 'b 2', 'seek c9', 'gfn 0x1234', 'mark a', 'nc 3', 'diff a', 'find warn', 'rfind type=sp-created', 'seek e999', 'bogus', 'q', ''].join('\n');
    const r = spawnSync(process.execPath, [BIN, 'debug', LOG], { input, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`pagetrack debug: ${LOG}, 62 events`);
    expect(out).toContain('e0 c0> at e1 c0: e1 c0 vm-created profile=linux-4.6 addressSpaces=2');
    expect(out).toContain('e6 c2> at e4 c1: e4 c1 memslot-created as=0 slot=0');
    expect(out).toContain('e35 c9> gfn 0x1234 (as 0, slot 0): count 2, disallow_lpage 2M 2 1G 2, SPTE level 3 read-only');
    expect(out).toContain('marked a at e35 c9');
    expect(out).toContain('e49 c12> from e35 to e49');
    expect(out).toContain('e55 c14> at e32 c9: e32 c9 sp-created sp=1 as=0 gfn=0x1234 level=2 direct=false');
    expect(out).toContain(`e32 c9> error: e999 is beyond the end: ${LOG} has 62 events`);
    expect(out).toContain("e32 c9> unknown command 'bogus'; 'help' lists commands");
  });

  it("Enter repeats the last step or search; find takes the command line's filter syntax too", () => {
    const input = ['n 2', '', '', 'seek start', 'find --type sp-created', 'seek start', 'find type=sp-created', 'find --warn', '', 'q', ''].join('\n');
    const out = spawnSync(process.execPath, [BIN, 'debug', LOG], { input, encoding: 'utf8' }).stdout;
    expect(out).toContain('e0 c0> at e2 c0:');
    expect(out).toContain('e2 c0> at e4 c1:'); // Enter: n 2 again
    expect(out).toContain('e4 c1> at e6 c2:'); // and again
    expect(out.match(/> at e32 c9: e32 c9 sp-created sp=1/g)).toHaveLength(2); // --type X and type=X find the same event
    const warns = [...out.matchAll(/> at (e\d+) c\d+: e\d+ c\d+ warn /g)].map((m) => m[1]);
    expect(warns).toHaveLength(2); // find --warn, then Enter: the next WARN after it
    expect(Number(warns[1]!.slice(1))).toBeGreaterThan(Number(warns[0]!.slice(1)));
  });

  it('--json: one JSON line per command, naming its input and the position; errors as error', () => {
    const input = ['seek c9', 'gfn 0x1234', 'n', 'mark a', 'marks', 'bogus', 'find --type nope', 'q', ''].join('\n');
    const r = spawnSync(process.execPath, [BIN, 'debug', LOG, '--json'], { input, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.input, l.position])).toEqual([
      ['seek c9', { event: 35, command: 9 }],
      ['gfn 0x1234', { event: 35, command: 9 }],
      ['n', { event: 36, command: 10 }],
      ['mark a', { event: 36, command: 10 }],
      ['marks', { event: 36, command: 10 }],
      ['bogus', { event: 36, command: 10 }],
      ['find --type nope', { event: 36, command: 10 }],
    ]);
    expect(lines[0]!.event).toMatchObject({ seq: 35, cmd: 9, type: 'lpage-step' });
    expect(lines[1]!.gfn).toEqual({ gfn: 0x1234, as: 0, slot: 0, count: 2, lpage: { 2: 2, 3: 2 }, spte: { as: 0, level: 3, gfn: 0, writable: false } });
    expect((lines[1]!.why as { explanation: string[] }).explanation[0]).toBe('gfn 0x1234 (address space 0, slot 0) after e35: count 2 — tracked.');
    expect(lines[4]!.marks).toEqual({ a: { event: 36, command: 10 } });
    expect(lines[5]!.error).toBe("unknown command 'bogus'; 'help' lists commands");
    expect(String(lines[6]!.error)).toMatch(/^unknown event type 'nope'/);
  });

  it('Tab completes commands, and filters after find', () => {
    expect(completeDebugLine('fi')).toEqual([['find'], 'fi']);
    expect(completeDebugLine('find --t')).toEqual([['--type'], '--t']);
    expect(completeDebugLine('find ty')).toEqual([['type='], 'ty']);
    expect(completeDebugLine('n')).toEqual([['n', 'next', 'nc'], 'n']);
  });
});
