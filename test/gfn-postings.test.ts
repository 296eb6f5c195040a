/**
 * The index's per-gfn postings (src/timetravel/gfn-postings.ts): what a window posts, how a
 * lookup reads it back, and what happens when the postings or the log do not hold.
 * Model-vs-model equality of history and why with and without postings is in time-machine.test.ts.
 */
import { copyFileSync, mkdtempSync, openSync, readFileSync, closeSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_KEY, PostingsCollector, postedOffsets, segmentProblem } from '../src/timetravel/gfn-postings.js';
import { gfnHistory } from '../src/timetravel/history.js';
import { indexPathOf, openIndex, saveIndex } from '../src/timetravel/log-index.js';
import { TimeMachine } from '../src/timetravel/time-machine.js';

const DEMO = join(import.meta.dirname, '..', 'examples', 'demo.log.ndjson');
const BIN = join(import.meta.dirname, '..', 'bin', 'pagetrack.js');
let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-postings-'));
});
const demoCopy = () => {
  const path = join(dir, `demo${n++}.log.ndjson`);
  copyFileSync(DEMO, path);
  return path;
};

describe('a window\'s postings', () => {
  it('post each touching line under its key, after its command\'s line once per key; the open command stands for a line before the window', () => {
    const c = new PostingsCollector();
    c.command(100); // before the window at 1000: open when it begins
    c.take(0);
    c.post(8, 1010); // a touch of key 8 under the command open at the window's start
    c.post(ALL_KEY, 1020);
    c.command(1100);
    c.post(8, 1150);
    c.post(8, 1190); // same command: not posted again
    c.post(12, 1200);
    const seg = c.take(1000)!;
    expect(segmentProblem(seg)).toBeUndefined();
    expect(postedOffsets(seg, 1000, [8])).toEqual([100, 1010, 1100, 1150, 1190]);
    expect(postedOffsets(seg, 1000, [12])).toEqual([1100, 1200]);
    expect(postedOffsets(seg, 1000, [ALL_KEY, 8, 12, 99])).toEqual([100, 1010, 1020, 1100, 1150, 1190, 1200]);
    expect(postedOffsets(seg, 1000, [99])).toEqual([]);
  });

  it('a window whose lines lie 4 GiB or more past its checkpoint has no postings (it is read whole)', () => {
    const c = new PostingsCollector();
    c.post(4, 2 ** 32);
    expect(c.take(0)).toBeUndefined();
    c.post(4, 2 ** 32 - 2);
    expect(c.take(0)).toBeInstanceOf(Buffer);
  });

  it('a malformed segment is named before any lookup', () => {
    const c = new PostingsCollector();
    c.post(8, 10);
    c.post(12, 20);
    const seg = c.take(0)!;
    expect(segmentProblem(seg.subarray(0, 10))).toBe('shorter than its head');
    expect(segmentProblem(Buffer.concat([seg, Buffer.alloc(4)]))).toBe('its length does not match its counts');
    const swapped = Buffer.from(seg);
    swapped.writeDoubleLE(12, 16);
    swapped.writeDoubleLE(8, 24);
    expect(segmentProblem(swapped)).toBe('its keys are out of order');
    const starts = Buffer.from(seg);
    starts.writeUInt32LE(2, 16 + 16 + 4); // the second key's start past the first's end
    starts.writeUInt32LE(9, 16 + 16 + 4);
    expect(segmentProblem(starts)).toBe('its postings are out of order');
    const open = Buffer.from(seg);
    open.writeDoubleLE(0.5, 8);
    expect(segmentProblem(open)).toBe('its open command is not an offset');
  });
});

describe('postings that do not hold', () => {
  it('a signed index with malformed postings: history says so and names the window, not a stack trace', async () => {
    const log = demoCopy();
    const { index } = await openIndex(log, { interval: 10 });
    saveIndex(log, { ...index, touches: index.touches.map((t) => ({ ...t, always: true, postings: Buffer.alloc(3) })) });
    const path = indexPathOf(log);
    const r = spawnSync(process.execPath, [BIN, 'history', log, '--gfn', '0x1234', '--interval', '10'], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([2, `pagetrack: the index ${path} is damaged: the postings of its window after e0 are malformed (shorter than its head); run the command with --rebuild-index\n`]);
  });

  it('a log line changed in place while a reader has the index open: the posted line no longer chains into the next one', async () => {
    const log = demoCopy();
    const tm = await TimeMachine.open(log, { rebuild: true });
    const before = await gfnHistory(tm, 0x1234);
    expect(before.length).toBeGreaterThan(3);
    // Rewrite one posted line's gfn digits with others of the same length (same size, same offsets).
    const text = readFileSync(log, 'latin1');
    const seq = before.findLast((t) => 'gfn' in t.event && t.event.gfn === 0x1234)!.event.seq;
    const at = text.indexOf(`",${seq},`);
    const lineEnd = text.indexOf('\n', at);
    const line = text.slice(at, lineEnd);
    const edited = line.replace('4660', '4661');
    expect(edited).not.toBe(line);
    const fd = openSync(log, 'r+');
    writeSync(fd, edited, at, 'latin1');
    closeSync(fd);
    await expect(gfnHistory(tm, 0x1234)).rejects.toThrow(new RegExp(`^${log.replace(/[.]/g, '\\.')}:0: the line at byte \\d+ \\(posted by the index for this gfn\\) does not chain into the line after it \\(the log was changed in place\\); run the command with --rebuild-index$`));
    await tm.close();
  });
});
