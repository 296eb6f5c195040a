/**
 * Issue 14, `pagetrack record`: tracefs as this machine has it (found or privately mounted),
 * a private instance removed whatever happens, the pid filter, markers from the recorded command,
 * --duration, --gzip, --ingest, and the errors that explain what is missing. Needs root and a
 * kernel with tracefs: elsewhere skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const why = isRoot ? undefined : 'pagetrack record needs root (tracefs instances)';
if (why) console.log(`record tests SKIPPED: ${why}`);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-record-'));
});
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const tracefsMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'tracefs');
const leftovers = () => tracefsMounts().flatMap((m) => {
  const d = join(m.split(' ')[1]!, 'instances');
  return existsSync(d) ? readdirSync(d).filter((n) => n.startsWith('pagetrack-')) : [];
});

describe.skipIf(!!why)('pagetrack record', () => {
  it('records the markers of the command it starts (its pid and tgid), ingests them, and leaves no instance or mount behind', () => {
    const mountsBefore = tracefsMounts().length;
    const out = join(dir, 'm.trace');
    const r = cli('record', '--out', out, '--ingest', '--kernel', '6.18', '--', 'sh', '-c', 'echo \'pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\' > $PAGETRACK_TRACE_MARKER; echo "pagetrack: step 1" > $PAGETRACK_TRACE_MARKER; exit 3');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^recorded 2 lines \(0\.0 MiB\) in \d+\.\d s to .*m\.trace; stopped by exit \(the command exited 3\); events lost: 0$/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.replace(/^\s*sh-(\d+)\s+\(\s*(\d+)\)\s+\[\d+\]\s+\S+\s+\d+\.\d+: /, 'sh-PID(TGID): '))).toEqual([
      'sh-PID(TGID): tracing_mark_write: pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}',
      'sh-PID(TGID): tracing_mark_write: pagetrack: step 1',
    ]);
    expect(r.stdout).toContain('page-tracking events used: tracing_mark_write 2');
    const state = JSON.parse(cli('state', out.replace('.trace', '.log.ndjson'), '--json').stdout);
    expect(state.slots.map((s: { slot: number; npages: number }) => [s.slot, s.npages])).toEqual([[0, 16]]);
    expect(leftovers()).toEqual([]);
    expect(tracefsMounts().length).toBe(mountsBefore);
  });

  it('--duration stops a command that runs on (and ends it); --gzip writes gzip', () => {
    const out = join(dir, 'd.trace.gz');
    const t0 = Date.now();
    const r = cli('record', '--out', out, '--duration', '1', '--gzip', '--', 'sleep', '30');
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stdout).toMatch(/stopped by duration/);
    expect(gunzipSync(readFileSync(out)).toString()).toBe('');
    expect(leftovers()).toEqual([]);
  });

  it('says what is missing: an event this kernel lacks, a process that does not exist, no target at all', () => {
    const e = cli('record', '--out', join(dir, 'x.trace'), '--events', 'kvmmmu/no_such_event', '--', 'true');
    expect([e.status, e.stderr.trim()]).toEqual([2, 'pagetrack: this kernel has no event kvmmmu/no_such_event; name the events to record with --events']);
    const p = cli('record', '--out', join(dir, 'y.trace'), '--pid', '999999999');
    expect([p.status, p.stderr.trim()]).toEqual([2, 'pagetrack: no process 999999999']);
    const n = cli('record', '--out', join(dir, 'z.trace'));
    expect([n.status, n.stderr.trim()]).toEqual([2, 'pagetrack: give --pid PID or -- COMMAND ARGS... (one of them)']);
    expect(existsSync(join(dir, 'x.trace'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});
