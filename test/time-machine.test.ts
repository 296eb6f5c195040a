import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LINUX_4_6, PROFILES, getProfile } from '../src/domain/profile.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { InMemoryEventLog, teeSinks } from '../src/events/event-log.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { LogWriter } from '../src/log/writer.js';
import { snapshot } from '../src/projections/snapshot.js';
import { PageTrackState } from '../src/projections/state.js';
import { loadIndex } from '../src/timetravel/log-index.js';
import { parsePosition } from '../src/timetravel/position.js';
import { TimeMachine } from '../src/timetravel/time-machine.js';
import { gfnHistory, whyTracked } from '../src/timetravel/history.js';
import { type WindowTouches, mayTouch } from '../src/timetravel/touch-filter.js';
import { scriptArb, vmOptionsArb } from './arbitraries.js';
import { cmd } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-tt-'));
});

let n = 0;
async function logOf(script: Array<Record<string, unknown>>, profile = 'linux-4.6', o: { tdp?: boolean; externalWriteTracking?: boolean } = {}): Promise<{ path: string; events: readonly PageTrackEvent[] }> {
  const path = join(dir, `p${n++}.log`);
  const writer = LogWriter.create(path, profile, '2026-01-01T00:00:00.000Z');
  const mem = new InMemoryEventLog();
  const vm = new PageTrackVm({ profile, log: teeSinks(writer, mem), ...o });
  for (const c of script) vm.execute(cmd(c));
  await writer.close();
  return { path, events: mem.events };
}

function replayTo(events: readonly PageTrackEvent[], seq: number, profile = 'linux-4.6') {
  const s = new PageTrackState(getProfile(profile));
  for (const e of events) {
    if (e.seq > seq) break;
    s.apply(e);
  }
  return s;
}

const snap = (s: PageTrackState) => snapshot(s, LINUX_4_6.trackModes);

describe('seek (fast-check)', () => {
  it('every seek, in any order, gives exactly the state of a from-scratch replay to the same point', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.array(fc.nat(), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom(...PROFILES.keys()), vmOptionsArb, async (script, targets, interval, profile, o) => {
        const { path, events } = await logOf(script, profile, o);
        const tm = await TimeMachine.open(path, { interval, rebuild: true, chunkBytes: 256 });
          expect(tm.index.checkpoints.length).toBeGreaterThanOrEqual(Math.min(3, Math.floor(events.length / (interval + 8))));
        for (const t0 of targets) {
          const t = t0 % (events.length + 1);
          await tm.seek(t);
          expect(tm.seq).toBe(t);
          expect(snap(tm.state)).toEqual(snap(replayTo(events, t, profile)));
          for (const s of tm.state.memslots.slots.values()) {
            const r = replayTo(events, t, profile).memslots.get(s.as, s.id)!;
            expect(s.track[0]).toEqual(r.track[0]);
            expect(s.lpage[0]).toEqual(r.lpage[0]);
            expect(s.lpage[1]).toEqual(r.lpage[1]);
          }
        }
      }),
      { numRuns: 240 },
    );
  });
});

describe('positions, steps and the index file', () => {
  it('positions e<N>, c<K>, start and end; errors say what is wrong', async () => {
    expect(parsePosition('e12')).toEqual({ kind: 'event', n: 12 });
    expect(parsePosition('c3')).toEqual({ kind: 'command', n: 3 });
    expect(parsePosition('start')).toEqual({ kind: 'event', n: 0 });
    expect(() => parsePosition('12')).toThrow("'12' is not a position: write e<N> (after event N), c<K> (after command K), t<SECONDS> (a trace timestamp), start or end");
    const { path, events } = await logOf([
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 512 },
      { op: 'track-add', user: 'u', as: 0, gfn: 1 },
      { op: 'track-add', user: 'u', as: 0, gfn: 2 },
    ]);
    const tm = await TimeMachine.open(path, { interval: 3, chunkBytes: 200 });
    expect(await tm.resolve(parsePosition('c1'))).toBe(events.findLast((e) => e.cmd === 1)!.seq);
    expect(await tm.resolve(parsePosition('c0'))).toBe(2);
    expect(await tm.resolve(parsePosition('end'))).toBe(events.length);
    await expect(tm.resolve(parsePosition('e999'))).rejects.toThrow(`e999 is beyond the end: ${path} has ${events.length} events`);
    await expect(tm.resolve(parsePosition('c9'))).rejects.toThrow(`c9 is beyond the end: the last command of ${path} is c3`);
  });

  it('steps by event and by command, forwards and back, and finds matching events both ways', async () => {
    const { path, events } = await logOf([
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 512 },
      { op: 'track-add', user: 'u', as: 0, gfn: 1 },
      { op: 'track-add', user: 'v', as: 0, gfn: 2 },
      { op: 'track-remove', user: 'u', as: 0, gfn: 1 },
    ]);
    const tm = await TimeMachine.open(path, { interval: 4, chunkBytes: 200 });
    expect(tm.index.checkpoints.length).toBeGreaterThan(3);
    await tm.seek(0);
    await tm.stepCommands(1);
    expect([tm.seq, tm.cmd]).toEqual([2, 0]); // end of VM creation
    await tm.stepCommands(2);
    expect(tm.cmd).toBe(2);
    expect(tm.seq).toBe(events.findLast((e) => e.cmd === 2)!.seq);
    await tm.stepEvents(-1);
    expect(tm.seq).toBe(events.findLast((e) => e.cmd === 2)!.seq - 1);
    await tm.stepCommands(-1);
    expect(tm.seq).toBe(events.findLast((e) => e.cmd === 1)!.seq);
    const next = await tm.find({ user: 'v' }, 1);
    expect(next).toMatchObject({ type: 'track-count-step', user: 'v', gfn: 2 });
    await tm.seek(tm.total);
    const prev = await tm.find({ gfn: 1, type: 'track-count-step' }, -1);
    expect(prev).toMatchObject({ user: 'u', delta: -1, count: 0 });
    expect(await tm.find({ warn: true }, -1)).toBeUndefined();
  });

  it('the index is kept beside the log and rebuilt when the log changes', async () => {
    const script = [{ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 512 }];
    const { path } = await logOf(script);
    await TimeMachine.open(path);
    const idx = await loadIndex(path);
    expect('index' in idx && idx.index.log).toMatchObject({ events: 5, commands: 1 });
    // Append: the head hash changes, the old index no longer names this log.
    const { writer } = LogWriter.openForAppend(path);
    writer.append([{ seq: 6, cmd: 2, type: 'command-rejected', v: 1, reason: 'x' }]);
    await writer.close();
    expect(await loadIndex(path)).toEqual({ problem: 'the log changed since it was built (size differs)' });
    const tm = await TimeMachine.open(path);
    expect(tm.total).toBe(6);
  });
});

describe('history and why read only the windows that may touch the gfn (the index\'s window filters)', () => {
  it('give exactly what a read of every window gives, for any history, gfn and position (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.integer({ min: 3, max: 30 }), fc.constantFrom(...PROFILES.keys()), vmOptionsArb, fc.nat(), async (script, interval, profile, o, pick) => {
        const { path, events } = await logOf(script, profile, o);
        const tm = await TimeMachine.open(path, { interval, rebuild: true, chunkBytes: 256 });
        const all = await TimeMachine.open(path, { interval });
        (all.index as unknown as { touches: WindowTouches[] }).touches = all.index.touches.map(({ bits }) => ({ bits, always: true })); // the plain way: every window
        const named = [...new Set(events.flatMap((e) => ('gfn' in e && typeof e.gfn === 'number' ? [e.gfn] : [])))];
        for (const gfn of [...named.slice(0, 4), named[pick % Math.max(1, named.length)] ?? 3, 0x7ff]) {
          expect(await gfnHistory(tm, gfn)).toEqual(await gfnHistory(all, gfn));
          const at = pick % (events.length + 1);
          expect(await whyTracked(tm, gfn, 0, at)).toEqual(await whyTracked(all, gfn, 0, at));
        }
        await tm.close();
        await all.close();
      }),
      { numRuns: 60 },
    );
  }, 180_000); // 32 KiB a window of index: slow under a busy CI

  it('skip the windows that cannot: on a log where a gfn is touched once, one window of many is read', async () => {
    const script: Array<Record<string, unknown>> = [{ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 4096 }];
    for (let i = 0; i < 300; i++) script.push({ op: 'track-add', user: 'u', as: 0, gfn: 16 + (i % 200) });
    script.push({ op: 'track-add', user: 'v', as: 0, gfn: 3000 });
    for (let i = 0; i < 300; i++) script.push({ op: 'track-remove', user: 'u', as: 0, gfn: 16 + (i % 200) });
    const { path } = await logOf(script);
    const tm = await TimeMachine.open(path, { interval: 20, rebuild: true, chunkBytes: 256 });
    const windows = tm.index.touches.length;
    const read = tm.index.touches.filter((t) => mayTouch(t, 3000)).length;
    expect(windows).toBeGreaterThan(50);
    expect(read).toBeLessThanOrEqual(3); // its own window, the first (slot creation), and at most one false positive
    expect((await gfnHistory(tm, 3000)).map((t) => t.event.type)).toEqual(['memslot-created', 'lpage-guard', 'track-count-step', 'lpage-step', 'lpage-step']);
    await tm.close();
  });
});
