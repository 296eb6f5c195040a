import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { progressBar } from '../src/cli/progress.js';
import { chainLine, hashLine, headerLine } from '../src/log/format.js';
import { readAllEvents } from '../src/log/reader.js';
import { UPCASTERS } from '../src/log/upcast.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const env = { ...process.env, SOURCE_DATE_EPOCH: '1764028800' };
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-logcli-'));
});

/** A long script: many track adds/removes and writes on one slot. */
function bigScript(path: string, commands: number): void {
  const lines = ['{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":1048576}', '{"op":"notifier-register","node":"vgpu"}'];
  for (let i = 0; i < commands; i++) {
    const gfn = (i * 7919) % 1048576;
    lines.push(i % 3 === 2 ? `{"op":"write","as":0,"gpa":${gfn * 4096},"bytes":8}` : `{"op":"track-${i % 3 === 0 ? 'add' : 'remove'}","user":"vgpu","as":0,"gfn":${gfn}}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

describe('pagetrack verify', () => {
  it('the v1 fixture log stays readable: OK, its head hash, and its state', () => {
    const log = join(FIXTURES, 'v1-demo.log.ndjson');
    expect(run('verify', log).stdout).toMatch(/^OK 62 events, head 4b9V4TxjVNe5UWubt0Ljft_qsG5xo0-18nkie1dQHe0 \(linux-4\.6, created 2025-11-25T00:00:00\.000Z; /);
    const state = JSON.parse(run('state', log, '--json', '--command', '12').stdout);
    expect(state).toEqual(JSON.parse(readFileSync(join(FIXTURES, 'v1-demo.state-c12.json'), 'utf8')));
  });

  it('reports the first bad line and why, exit 1; --json gives the same as fields', () => {
    const log = join(dir, 'bad.log');
    const lines = readFileSync(join(FIXTURES, 'v1-demo.log.ndjson'), 'utf8').split('\n');
    lines[20] = lines[20]!.replace('",20,', '",21,'); // line 21 holds seq 20
    writeFileSync(log, lines.join('\n'));
    const r = run('verify', log);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`BAD ${log}:21: field 'seq': gap: seq 21 follows seq 19, so event 20 is missing\n`);
    expect(JSON.parse(run('verify', log, '--json').stdout)).toEqual({ ok: false, file: log, line: 21, field: 'seq', reason: 'gap: seq 21 follows seq 19, so event 20 is missing' });
  });

  it('says when the last line is cut off, exit 1, and append repairs it', () => {
    const log = join(dir, 'cut.log');
    writeFileSync(log, readFileSync(join(FIXTURES, 'v1-demo.log.ndjson')));
    truncateSync(log, statSync(log).size - 30);
    const r = run('verify', log);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^CUT ${log}:63: the last line is cut off \\(\\d+ bytes; the writer died mid-append\\); the 61 whole events before it verify, head `));
    const s = run('state', log, '--json');
    expect(s.stderr).toMatch(/ends in a cut-off line 63 \(\d+ bytes; the writer died mid-append\): dropped it, read 61 whole events/);
    expect(JSON.parse(s.stdout).position).toEqual({ event: 61, command: 14 });
    const script = join(dir, 'more.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":5,"base":"0x100000","npages":16}\n');
    const a = run('run', script, '--log', log, '--append');
    expect(a.stderr).toMatch(/removed a cut-off last line \(\d+ bytes\) before appending/);
    expect(a.stdout).toBe(`c15    memslot-create      ok  (4 events)\n1 commands, 65 events, 0 rejected; log: ${log}\n`);
    expect(run('verify', log).stdout).toMatch(/^OK 65 events, head /);
  });

  it('survives a writer killed mid-run: every whole event is kept, and the log continues', async () => {
    const script = join(dir, 'big.ndjson');
    bigScript(script, 400_000);
    const log = join(dir, 'killed.log');
    const child = spawn(process.execPath, [BIN, 'run', script, '--log', log, '--quiet'], { env, stdio: 'ignore' });
    // Kill it once it has written a few megabytes, well before it finishes.
    for (let i = 0; i < 400 && !(existsSync(log) && statSync(log).size > 4 << 20); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const size = statSync(log).size;
    expect(size).toBeGreaterThan(4 << 20);
    const v = run('verify', log, '--json');
    const before = JSON.parse(v.stdout) as { ok: boolean; events: number; truncated?: { bytes: number } };
    expect(before.events).toBeGreaterThan(10_000);
    expect(before.events).toBeLessThan(1_000_000); // really cut short
    const wholeBytes = size - (before.truncated?.bytes ?? 0);
    const prefix = readFileSync(log).subarray(0, wholeBytes);
    const more = join(dir, 'more2.ndjson');
    writeFileSync(more, '{"op":"is-active","as":0,"gfn":0}\n');
    expect(run('run', more, '--log', log, '--append', '--quiet').status).toBe(0);
    const after = JSON.parse(run('verify', log, '--json').stdout);
    expect(after).toMatchObject({ ok: true, events: before.events + 2 }); // command + track-queried
    expect(readFileSync(log).subarray(0, wholeBytes).equals(prefix)).toBe(true);
  }, 60_000);
});

describe('schema evolution', () => {
  it('readers upcast older event versions through the registry; a missing upcaster is a clear error', async () => {
    // A made-up v0 of tlb-flushed that called its reason "why".
    const header = headerLine('linux-4.6', '2026-01-01T00:00:00.000Z');
    const rows = [
      [1, 0, 'vm-created', 1, 'linux-4.6', 2],
      [2, 0, 'tlb-flushed', 0, 'zap-all'],
    ];
    const lines = [header];
    for (const r of rows) lines.push(chainLine(hashLine(lines.at(-1)!), JSON.stringify(r)));
    const log = join(dir, 'old.log');
    writeFileSync(log, lines.join('\n') + '\n');
    const upcasters = { ...UPCASTERS, 'tlb-flushed': { 0: { fields: ['why'], upcast: ({ why, ...e }: Record<string, unknown>) => ({ ...e, v: 1, reason: why }) } } };
    const { events } = await readAllEvents(log, { upcasters });
    expect(events[1]).toEqual({ seq: 2, cmd: 0, type: 'tlb-flushed', v: 1, reason: 'zap-all' });
    await expect(readAllEvents(log)).rejects.toThrow(`${log}:3: field 'v': no upcaster for tlb-flushed version 0 (this build writes version 1)`);
  });
});

describe('progress', () => {
  const sink = (isTTY: boolean) => {
    let out = '';
    const s = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    Object.assign(s, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    return { s, text: () => out };
  };

  it('draws events/s and the share of bytes on a terminal', () => {
    const { s, text } = sink(true);
    const bar = progressBar('verify', { stream: s });
    bar.update({ bytes: 50, totalBytes: 200, events: 1234 });
    bar.stop();
    expect(text()).toMatch(/verify \[.*\] 25% \| 1,234 events \| [\d,]+ events\/s/);
  });

  it('stays quiet off a terminal or with --quiet', () => {
    for (const [tty, quiet] of [[false, false], [true, true]] as const) {
      const { s, text } = sink(tty);
      const bar = progressBar('verify', { stream: s, quiet });
      bar.update({ bytes: 50, totalBytes: 200, events: 1 });
      bar.stop();
      expect(text()).toBe('');
    }
    expect(run('verify', join(FIXTURES, 'v1-demo.log.ndjson')).stderr).toBe('');
  });
});
