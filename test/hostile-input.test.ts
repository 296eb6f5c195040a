/**
 * Issue 11: everything read from disk is hostile. One describe per class of the issue; each
 * asserts the exact message or state, and fuzzes where the class is a space rather than a case.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { closeSync, existsSync, readdirSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/cli/errors.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { splitLines } from '../src/io/lines.js';
import { MAX_LINE_BYTES, MAX_NAME } from '../src/io/limits.js';
import { LogError } from '../src/log/format.js';
import { readAllEvents } from '../src/log/reader.js';
import { LogWriter } from '../src/log/writer.js';
import { snapshot } from '../src/projections/snapshot.js';
import { PageTrackState } from '../src/projections/state.js';
import { getProfile } from '../src/domain/profile.js';
import { runScriptFile, runScriptText } from '../src/script/run-script.js';
import { type LogIndex, indexPathOf, loadIndex, openIndex, saveIndex } from '../src/timetravel/log-index.js';
import { TimeMachine } from '../src/timetravel/time-machine.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
const DEMO = join(ROOT, 'examples', 'demo.log.ndjson');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SOURCE_DATE_EPOCH: '1764028800' } });
const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'prototype'];

let dir: string;
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-hostile-'));
});

/** A copy of the demo log (63 lines, 62 events). */
function demoCopy(): string {
  const path = fresh('demo.log.ndjson');
  writeFileSync(path, readFileSync(DEMO));
  return path;
}

/** A log of `commands` track add/remove pairs, long enough for several index windows. */
async function longLog(commands = 600): Promise<string> {
  const path = fresh('long.log.ndjson');
  const w = LogWriter.create(path, 'linux-4.6', '2026-01-01T00:00:00.000Z');
  const vm = new PageTrackVm({ log: w });
  runScriptText(vm, ['{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":4096}', '{"op":"notifier-register","node":"u"}', ...Array.from({ length: commands }, (_, i) => `{"op":"track-${i % 2 ? 'remove' : 'add'}","user":"u","as":0,"gfn":${(i >> 1) % 4096}}`)].join('\n'));
  await w.close();
  return path;
}

/** Overwrites bytes in place (same inode, same size; the change time moves). */
function patch(path: string, offset: number, bytes: string): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes, 'latin1'), 0, bytes.length, offset);
  closeSync(fd);
}

const stateAt = async (log: string, seq: number) => {
  const tm = await TimeMachine.open(log);
  await tm.seek(seq);
  const s = snapshot(tm.state, ['write']);
  await tm.close();
  return s;
};

const replayState = async (log: string) => {
  const { events } = await readAllEvents(log);
  const st = new PageTrackState(getProfile('linux-4.6'));
  for (const e of events) st.apply(e);
  return snapshot(st, ['write']);
};

describe('11.1 time travel refuses what verify refuses', () => {
  it('an event edited in place (same length, last line kept) after the index was built: state, diff, step and history exit 2 with verify\'s own BAD line', async () => {
    const log = demoCopy();
    expect(cli('state', log, '--at', 'end', '--json').status).toBe(0); // builds the index
    const text = readFileSync(log, 'latin1');
    const at = text.indexOf('"vgpu0"', text.split('\n').slice(0, 29).join('\n').length); // line 30
    patch(log, at, '"vgpu9"');
    const verify = cli('verify', log);
    expect(verify.stdout.trim()).toBe(`BAD ${log}:30: field 'node': notifier 'vgpu9' is not registered`);
    for (const args of [['state', log, '--at', 'end'], ['diff', log, 'c0', 'end'], ['step', log, '--at', 'start'], ['history', log, '--gfn', '0x1234']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`pagetrack: rebuilding the index ${log}.idx: the log changed since it was built (change time differs)`);
      expect(r.stderr).toContain(`pagetrack: ${log}:30: field 'node': notifier 'vgpu9' is not registered`);
    }
  });

  it('whatever a (signed) index claims about the log, each window is read by the validating reader: a line that no longer chains is refused', async () => {
    const log = await longLog();
    const { index } = await openIndex(log, { interval: 200, chunkBytes: 4096 });
    expect(index.checkpoints.length).toBeGreaterThan(3);
    // Edit an event inside window 2, keep the length, then sign an index that names the edited file.
    const cp = index.checkpoints[2]!;
    const text = readFileSync(log, 'latin1');
    const lineStart = text.indexOf('\n', cp.offset + 10) + 1; // the second line of window 2
    const at = text.indexOf('"u",', lineStart);
    patch(log, at, '"v",');
    const { index: fresh2 } = await openIndex(join(log), { rebuild: true }).catch(() => ({ index: undefined }));
    expect(fresh2).toBeUndefined(); // the edited log itself does not verify
    const st = statSync(log, { bigint: true });
    saveIndex(log, { ...index, log: { ...index.log, ctimeNs: String(st.ctimeNs), ino: String(st.ino), dev: String(st.dev) } });
    const tm = await TimeMachine.open(log);
    await tm.seek(cp.seq); // up to the checkpoint: nothing read
    await expect(tm.seek(cp.seq + 3)).rejects.toThrow(new LogError(log, cp.line + 2, `chain broken: expected the hash of line ${cp.line + 1} (${lineHash(readFileSync(log, 'latin1'), cp.line + 1)}), found ${lineHash(text, cp.line + 1)}`, 'prev'));
    await tm.close();
  });
});

/** The hash of line `no` (1-based) of `text`. */
function lineHash(text: string, no: number): string {
  return lineHashOf(Buffer.from(text.split('\n')[no - 1]!, 'latin1'));
}

describe('11.2 a forged or corrupted index is never used', () => {
  it('property: any byte of the head changed, any cut, any re-serialisation with other values: the index is rebuilt, saying why, and every answer equals a plain replay', async () => {
    const log = await longLog(300);
    await openIndex(log, { interval: 100, chunkBytes: 4096 });
    const good = readFileSync(indexPathOf(log));
    // The segments after the head are checked when used (the tests after this one).
    const headEnd = 48 + Number(good.readBigUInt64LE(40));
    const expected = await replayState(log);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(headEnd - 1), xor: fc.integer({ min: 1, max: 255 }) }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat(good.length - 1) }),
        ),
        async (damage) => {
          const bad = Buffer.from(good);
          writeFileSync(indexPathOf(log), damage.kind === 'flip' ? (bad.writeUInt8(bad[damage.at]! ^ damage.xor, damage.at), bad) : bad.subarray(0, damage.at));
          const loaded = await loadIndex(log);
          expect('problem' in loaded).toBe(true);
          const notes: string[] = [];
          const tm = await TimeMachine.open(log, { onNote: (x) => notes.push(x) });
          expect(notes).toHaveLength(1);
          expect(notes[0]).toMatch(/^rebuilding the index .*\.idx: /);
          await tm.seek(tm.total);
          expect(snapshot(tm.state, ['write'])).toEqual(expected);
          await tm.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('re-serialised with other values under the old signature: "its signature does not hold"; the state is the log\'s', async () => {
    const log = demoCopy();
    await openIndex(log);
    const bytes = readFileSync(indexPathOf(log));
    // The layout (saveIndex): magic (8), HMAC (32), head length (8), head, SPTE segments, window filters and postings.
    const headLength = Number(bytes.readBigUInt64LE(40));
    const index = deserialize(bytes.subarray(48, 48 + headLength)) as LogIndex;
    const forged = serialize({ ...index, checkpoints: index.checkpoints.map((cp) => ({ ...cp, small: { ...cp.small, tallies: { ...cp.small.tallies, tlbFlushes: 999 } } })) });
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(forged.length));
    writeFileSync(indexPathOf(log), Buffer.concat([bytes.subarray(0, 40), length, forged, bytes.subarray(48 + headLength)]));
    expect(await loadIndex(log)).toEqual({ problem: "its signature does not hold: it was not written by this user's pagetrack, or it was changed since" });
    expect((await stateAt(log, 62)).tlbFlushes).toBe((await replayState(log)).tlbFlushes);
  });

  it('a changed SPTE segment (read only when its checkpoint is restored) is refused when used, and the index is dropped so the next run rebuilds it', async () => {
    const log = demoCopy();
    await openIndex(log, { interval: 5, chunkBytes: 256 }); // checkpoints every few events, c9 (e35, one SPTE) among them
    const path = indexPathOf(log);
    const bytes = readFileSync(path);
    const headEnd = 48 + Number(bytes.readBigUInt64LE(40));
    expect(bytes.length).toBeGreaterThan(headEnd);
    for (let i = headEnd; i < bytes.length; i++) bytes.writeUInt8(bytes.readUInt8(i) ^ 0x40, i);
    writeFileSync(path, bytes);
    const first = spawnSync(process.execPath, [BIN, 'state', log, '--at', 'c9', '--interval', '5', '--json'], { encoding: 'utf8' });
    expect([first.status, first.stderr.replace(/checkpoint at e\d+ /, 'checkpoint at eN ')]).toEqual([2, `pagetrack: the index ${path} was changed after it was opened (the SPTEs of its checkpoint at eN do not hold its signature); it was removed: run the command again to rebuild it\n`]);
    expect(existsSync(path)).toBe(false);
    const again = spawnSync(process.execPath, [BIN, 'state', log, '--at', 'c9', '--interval', '5', '--json'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout).sptes).toEqual([{ as: 0, level: 3, gfn: 0, writable: false }]);
  });

  it('a changed postings segment (read only when a gfn\'s history reaches its window) is refused when used, and the index is dropped', async () => {
    const log = demoCopy();
    await openIndex(log, { interval: 10, chunkBytes: 256 });
    const path = indexPathOf(log);
    const bytes = readFileSync(path);
    // The last window's postings are the file's last bytes (saveIndex: SPTE segments, then each window's filter and postings).
    for (let i = bytes.length - 4; i < bytes.length; i++) bytes.writeUInt8(bytes.readUInt8(i) ^ 0x40, i);
    writeFileSync(path, bytes);
    const r = spawnSync(process.execPath, [BIN, 'history', log, '--gfn', '0x1234', '--interval', '10'], { encoding: 'utf8' });
    expect([r.status, r.stderr.replace(/window after e\d+ /, 'window after eN ')]).toEqual([2, `pagetrack: the index ${path} was changed after it was opened (the postings of its window after eN do not hold its signature); it was removed: run the command again to rebuild it\n`]);
    expect(existsSync(path)).toBe(false);
    const again = spawnSync(process.execPath, [BIN, 'history', log, '--gfn', '0x1234', '--interval', '10', '--json'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout).touches.at(-1).event.type).toBe('memslot-deleted');
  });

  it('a changed window filter (read only when a gfn\'s history reaches its window) is refused when used, and the index is dropped', async () => {
    const log = demoCopy();
    await openIndex(log, { interval: 10, chunkBytes: 256 });
    const path = indexPathOf(log);
    const bytes = readFileSync(path);
    const headEnd = 48 + Number(bytes.readBigUInt64LE(40));
    const head = deserialize(bytes.subarray(48, headEnd)) as { touches: Array<{ always: boolean; bits: { at: number; bytes: number } }> };
    // A window whose filter is consulted: one without memslot changes (those are always read).
    const bits = head.touches.find((t) => !t.always)!.bits;
    expect(bits.bytes).toBe(32 * 1024);
    bytes.writeUInt8(bytes.readUInt8(headEnd + bits.at + 7) ^ 0x40, headEnd + bits.at + 7);
    writeFileSync(path, bytes);
    const r = spawnSync(process.execPath, [BIN, 'history', log, '--gfn', '0x1234', '--interval', '10'], { encoding: 'utf8' });
    expect([r.status, r.stderr.replace(/window after e\d+ /, 'window after eN ')]).toEqual([2, `pagetrack: the index ${path} was changed after it was opened (the filter bits of its window after eN do not hold its signature); it was removed: run the command again to rebuild it\n`]);
    expect(existsSync(path)).toBe(false);
  });

  it('deserialising is bounded: an index claiming sizes it does not hold is refused before any allocation it names', async () => {
    const log = demoCopy();
    const { index } = await openIndex(log);
    // Signed (as if by a buggy build): every claim is checked against bounds before use.
    const cases: Array<[Partial<LogIndex>, string]> = [
      [{ checkpoints: [] }, 'it is damaged: it has no checkpoints'],
      [{ arrays: [{ key: 'x', bytesPerEntry: 2, length: 2 ** 32 }] }, 'it is damaged: an array entry is malformed'],
      [{ checkpoints: [{ ...index.checkpoints[0]!, dir: new Int32Array([0, 2 ** 30, 0]) }] }, 'it is damaged: checkpoint 0 names a chunk that does not exist'],
      [{ checkpoints: [{ ...index.checkpoints[0]!, small: { ...index.checkpoints[0]!.small, slots: [[0, 0, 0, 2 ** 40, 0, 0, 0, 1, 1]] } }] }, 'it is damaged: checkpoint 0 holds a malformed slot'],
      [{ checkpoints: [index.checkpoints[0]!, { ...index.checkpoints[0]!, seq: 0 }] }, 'it is damaged: checkpoint 1 is out of order'],
      [{ checkpoints: [{ ...index.checkpoints[0]!, offset: index.checkpoints[0]!.offset + 1 }], touches: [index.touches[0]!] }, 'checkpoint 0 does not stand at a line of this log that chains from its hash'],
      [{ touches: [] }, 'it is damaged: its window filters do not match its checkpoints'],
      [{ touches: index.touches.map((t) => ({ ...t, bits: new Uint8Array(8) })) }, 'it is damaged: a window filter is malformed'],
    ];
    for (const [change, problem] of cases) {
      saveIndex(log, { ...index, ...change });
      expect(await loadIndex(log)).toEqual({ problem });
    }
  });
});

describe('11.3 run writes only logs its own readers accept', () => {
  it('names longer than the readers accept are refused at the script, and the log verifies', async () => {
    const vm = new PageTrackVm();
    const [r] = runScriptText(vm, JSON.stringify({ op: 'notifier-register', node: 'x'.repeat(MAX_NAME + 1) }));
    expect(r!.rejection).toEqual({ field: 'node', reason: `a node id must be at most ${MAX_NAME} characters, got ${MAX_NAME + 1}` });
    // and at the library entry point too
    expect(vm.execute({ op: 'track-add', user: 'u'.repeat(MAX_NAME + 1), as: 0, gfn: 1, mode: 0 }).rejection).toEqual({ field: 'user', reason: `must be at most ${MAX_NAME} characters, got ${MAX_NAME + 1}` });
  });

  it('property: whatever a script holds (any JSON, any keys, names of any length, built-in property names), the log run writes reads back whole', async () => {
    const key = fc.oneof(fc.constantFrom('op', 'node', 'user', 'as', 'gfn', 'flags', ...PROTO_NAMES), fc.string({ maxLength: 2000 }));
    const value = fc.oneof(fc.string({ maxLength: 3000 }), fc.constantFrom(...PROTO_NAMES, 'notifier-register', 'track-add', 'memslot-create'), fc.integer(), fc.array(fc.string({ maxLength: 300 }), { maxLength: 3 }), fc.constant(null));
    const line = fc.oneof(fc.dictionary(key, value, { maxKeys: 5 }).map((o) => JSON.stringify(o)), fc.string({ maxLength: 500 }), fc.json());
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 8 }), async (lines) => {
        const path = fresh('prop.log.ndjson');
        const w = LogWriter.create(path, 'linux-4.6', '2026-01-01T00:00:00.000Z');
        const vm = new PageTrackVm({ log: w });
        runScriptText(vm, lines.join('\n'), 'x'.repeat(5000));
        await w.close();
        const { events } = await readAllEvents(path);
        expect(events.length).toBe(vm.eventCount);
      }),
      { numRuns: 60 },
    );
  });
});

describe('11.4 built-in property names are names like any other', () => {
  it.each(PROTO_NAMES)('op %s is an unknown command; the rest of the script runs', (op) => {
    const vm = new PageTrackVm();
    const [r, next] = runScriptText(vm, `{"op":"${op}"}\n{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16,"flags":["${op}"]}\n{"op":"notifier-register","node":"${op}"}`);
    expect(r!.rejection).toEqual({ field: 'op', reason: `unknown command "${op}" (one of: memslot-create, memslot-delete, memslot-move, memslot-flags, track-add, track-remove, is-active, sp-create, sp-zap, sp-use, fault, write, notifier-register, notifier-unregister, zap-all, vm-destroy, spte-set, mark)` });
    expect(next!.rejection).toEqual({ field: 'flags', reason: `unknown flag "${op}" (known: log-dirty-pages, readonly)` });
    expect(vm.state.notifiers.nodes).toContain(op);
  });

  it('an event type or version named after a built-in property is an unknown type in a log', async () => {
    for (const t of PROTO_NAMES) {
      const path = fresh('proto.log.ndjson');
      const w = LogWriter.create(path, 'linux-4.6', '2026-01-01T00:00:00.000Z');
      await w.close();
      const head = readFileSync(path, 'utf8').trimEnd();
      const prev = lineHashOf(head);
      writeFileSync(path, `${head}\n["${prev}",1,0,${JSON.stringify(t)},1]\n`);
      await expect(readAllEvents(path)).rejects.toThrow(`${path}:2: field 'type': unknown event type "${t}"`);
    }
  });
});

function lineHashOf(line: string | Buffer): string {
  return hash('sha256', line, 'base64url');
}

describe('11.5 deep nesting', () => {
  it('property: a script line nested any depth past the limit is a rejected command, not a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 17, max: 200_000 }), fc.constantFrom('[', '{"a":'), (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const vm = new PageTrackVm();
        const [r] = runScriptText(vm, `{"op":"memslot-create","x":${open.repeat(depth)}1${close.repeat(depth)}}`);
        // the 17th opening bracket: the command's own brace, then 15 of the nested ones before it
        expect(r!.rejection).toEqual({ reason: `nested deeper than 16 levels (at column ${27 + 15 * open.length + 1}): no pagetrack line nests that deep` });
      }),
      { numRuns: 20 },
    );
  });

  it('a log line and a log header nested 20,000 deep: verify says BAD with the line, exit 1', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const log = fresh('deep.log.ndjson');
    const header = '{"format":"pagetrack-log","version":1,"profile":"linux-4.6","created":"2026-01-01T00:00:00.000Z"}';
    const line = `["${lineHashOf(header)}",1,0,"vm-created",1,${deep}]`;
    writeFileSync(log, `${header}\n${line}\n`);
    const r = cli('verify', log);
    expect([r.status, r.stdout.trim()]).toEqual([1, `BAD ${log}:2: nested deeper than 16 levels (at column ${line.indexOf(deep) + 16}): no pagetrack line nests that deep`]);
    writeFileSync(log, `{"format":${deep}}\n`);
    const h = cli('verify', log);
    expect([h.status, h.stdout.trim()]).toEqual([1, `BAD ${log}:1: the header is nested deeper than 16 levels (at column ${'{"format":'.length + 16}): no pagetrack line nests that deep`]);
  });
});

describe('11.6 sizes and file kinds: nothing hangs, nothing grows without bound', () => {
  it('a 1 GiB sparse line: verify stops at the cap with the line number, exit 1', () => {
    const log = fresh('sparse.log.ndjson');
    writeFileSync(log, '');
    truncateSync(log, 2 ** 30);
    const r = cli('verify', log);
    expect([r.status, r.stdout.trim()]).toEqual([1, `BAD ${log}:1: the line is longer than the limit of ${MAX_LINE_BYTES} bytes (${2 * MAX_LINE_BYTES} bytes read without an end of line); no pagetrack log line is that long`]);
  });

  it('a script line over the cap is a rejected command and the script goes on, with bounded memory', async () => {
    const script = fresh('long.ndjson');
    writeFileSync(script, `{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\n`);
    const fd = openSync(script, 'a');
    writeSync(fd, Buffer.alloc(4 * MAX_LINE_BYTES + 7, 0x20));
    writeSync(fd, '\n{"op":"notifier-register","node":"n"}\n');
    closeSync(fd);
    const vm = new PageTrackVm();
    const seen: Array<[number, string]> = [];
    await runScriptFile(vm, script, (r, line) => seen.push([line, r.ok ? r.op! : r.rejection!.reason]));
    expect(seen).toEqual([
      [1, 'memslot-create'],
      [2, `the line is ${4 * MAX_LINE_BYTES + 7} bytes long, over the limit of ${MAX_LINE_BYTES} bytes`],
      [3, 'notifier-register'],
    ]);
  });

  it('/dev/zero, a FIFO, a symlink to a FIFO, a directory: refused at once as log and as index, exit 2', () => {
    const fifo = fresh('fifo');
    execFileSync('mkfifo', [fifo]);
    const link = fresh('link-to-fifo');
    symlinkSync(fifo, link);
    const d = fresh('dir');
    mkdirSync(d);
    for (const [path, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [link, 'a FIFO'], [d, 'a directory']] as const) {
      for (const cmd of [['verify', path], ['state', path, '--at', 'end'], ['audit', path]]) {
        const r = cli(...cmd);
        expect([r.status, r.stderr.trim()], cmd.join(' ')).toEqual([2, `pagetrack: log ${path}: is ${kind}, not a regular file`]);
      }
    }
    // as the index: refused as an index, rebuilt and kept in memory (a FIFO or a link to /dev/zero is not overwritten)
    const log = demoCopy();
    symlinkSync('/dev/zero', indexPathOf(log));
    const r = cli('state', log, '--at', 'c9', '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`pagetrack: rebuilding the index ${log}.idx: index ${log}.idx: is a character device, not a regular file`);
    expect(lstatSync(indexPathOf(log)).isFile()).toBe(true); // the link itself was replaced
  });
});

describe('11.7 a damaged index is rebuilt, never a crash', () => {
  it('a directory in the index\'s place: answered from an index in memory, saying it could not be saved', () => {
    const log = demoCopy();
    mkdirSync(indexPathOf(log));
    const r = cli('state', log, '--at', 'c9', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).position).toEqual({ event: 35, command: 9 });
    expect(r.stderr.trim().split('\n')).toEqual([
      `pagetrack: rebuilding the index ${log}.idx: index ${log}.idx: is a directory, not a regular file`,
      `pagetrack: the index could not be saved (index ${log}.idx: is a directory (EISDIR)); it is used from memory this time`,
    ]);
  });
});

describe('where the index lives: --index, $PAGETRACK_INDEX_DIR, and a cache when the folder is read-only', () => {
  it('--index PATH and PAGETRACK_INDEX_DIR put it there, and nothing beside the log', () => {
    const log = demoCopy();
    const idx = fresh('elsewhere.idx');
    expect(cli('state', log, '--at', 'c9', '--index', idx, '--json').status).toBe(0);
    expect([existsSync(idx), existsSync(indexPathOf(log))]).toEqual([true, false]);
    const d = fresh('idxdir');
    mkdirSync(d);
    const r = spawnSync(process.execPath, [BIN, 'state', log, '--at', 'c9', '--json'], { encoding: 'utf8', env: { ...process.env, PAGETRACK_INDEX_DIR: d } });
    expect(r.status).toBe(0);
    expect(readdirSync(d)).toEqual([expect.stringMatching(/^\d+-demo\.log\.ndjson\.[0-9a-f]{16}\.idx$/)]);
    expect(existsSync(indexPathOf(log))).toBe(false);
  });

  it.skipIf(typeof process.getuid !== 'function' || process.getuid() !== 0)('a read-only folder (EROFS): the index is kept in the cache, said once, and found there next time', () => {
    const d = fresh('ro');
    mkdirSync(d);
    writeFileSync(join(d, 'demo.log.ndjson'), readFileSync(DEMO));
    const cache = fresh('cache');
    const env = { ...process.env, PAGETRACK_CACHE_DIR: cache };
    execFileSync('mount', ['--bind', d, d]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', d]);
      const log = join(d, 'demo.log.ndjson');
      const first = spawnSync(process.execPath, [BIN, 'state', log, '--at', 'c9', '--json'], { encoding: 'utf8', env });
      expect(first.status).toBe(0);
      expect(first.stderr.trim()).toMatch(new RegExp(`^pagetrack: the index could not be written beside the log \\(EROFS\\); it is kept in ${cache}/indexes/demo\\.log\\.ndjson\\.[0-9a-f]{16}\\.idx$`));
      const second = spawnSync(process.execPath, [BIN, 'state', log, '--at', 'c9', '--json'], { encoding: 'utf8', env });
      expect([second.status, second.stderr]).toEqual([0, '']);
    } finally {
      execFileSync('umount', [d]);
    }
  });
});

describe('11.8 filesystem errors are messages, exit 2', () => {
  it('symlink loop, directory as log or --log, directory as script, append to a loop', () => {
    const a = fresh('loop-a');
    const b = fresh('loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    const script = fresh('ok.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\n');
    const d = fresh('d');
    mkdirSync(d);
    const cases: Array<[string[], string]> = [
      [['verify', a], `pagetrack: log ${a}: too many levels of symbolic links (a symlink loop?) (ELOOP)`],
      [['run', script, '--log', a, '--append'], `pagetrack: log ${a}: too many levels of symbolic links (a symlink loop?) (ELOOP)`],
      [['run', d], `pagetrack: script ${d}: is a directory, not a regular file or a FIFO`],
      [['run', script, '--log', d], `pagetrack: log ${d}: is a directory (EISDIR)`],
      [['state', fresh('missing.log')], `pagetrack: log ${join(dir, `${n - 1}-missing.log`)}: no such file or directory (ENOENT)`],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect([r.status, r.stderr.trim()], args.join(' ')).toEqual([2, message]);
    }
    expect(readdirNames(d)).toEqual([]); // nothing left behind in the directory
  });

  it('an unreadable file (EACCES; root reads anything, so the errno is made here) is worded, exit 2', () => {
    const err = Object.assign(new Error("EACCES: permission denied, open 'x.log'"), { code: 'EACCES', syscall: 'open', path: 'x.log' });
    expect(describeError(err)).toEqual({ message: 'file x.log: permission denied (EACCES)', code: 2 });
    expect(describeError(new TypeError('boom'))).toEqual({ message: 'internal error: boom (this is a bug in pagetrack; set PAGETRACK_DEBUG=1 for the stack)', code: 3 });
  });
});

function readdirNames(d: string): string[] {
  return readdirSync(d).sort();
}

describe('11.9 writes never follow a planted link', () => {
  it('planted LOG.idx.tmp and LOG.idx symlinks, and a log path that is a symlink: the files they point to are untouched', () => {
    const victim = fresh('victim');
    writeFileSync(victim, 'precious\n');
    const log = demoCopy();
    symlinkSync(victim, `${indexPathOf(log)}.tmp`);
    expect(cli('state', log, '--at', 'end', '--json').status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readlinkSync(`${indexPathOf(log)}.tmp`)).toBe(victim);
    const log2 = demoCopy();
    symlinkSync(victim, indexPathOf(log2));
    expect(cli('state', log2, '--at', 'end', '--json').status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    const script = fresh('s.ndjson');
    writeFileSync(script, '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\n');
    const out = fresh('out.log');
    symlinkSync(victim, out);
    expect(cli('run', script, '--log', out).status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(out).isFile()).toBe(true);
  });
});

describe('11.10 only LF (and CRLF) end a line', () => {
  it('a lone CR stays inside its line; CRLF ends one; line numbers stay right', async () => {
    const chunks = async function* () {
      yield Buffer.from('a\rb\nc\r\n\r\nd');
    };
    const out = [];
    for await (const l of splitLines(chunks())) out.push(l);
    expect(out).toEqual([
      { line: 1, text: 'a\rb' },
      { line: 2, text: 'c' },
      { line: 3, text: '' },
      { line: 4, text: 'd' },
    ]);
    const script = fresh('cr.ndjson');
    writeFileSync(script, '{"op":"memslot-create",\r"as":0,"slot":0,"base":0,"npages":16}\r\n{"op":"bogus"}\n');
    const r = cli('run', script);
    expect(r.stdout.split('\n')[0]).toMatch(/^c1 +memslot-create +ok/);
    expect(r.stdout).toContain(`REJECTED ${script}:2: field 'op': unknown command "bogus"`);
  });
});

describe('11.11 every reader says what it dropped', () => {
  it('audit, history, why, step and state on a log cut mid-line print the same note on stderr', () => {
    const log = demoCopy();
    writeFileSync(log, readFileSync(log, 'utf8') + '["abc",63,13,"comm');
    const note = `pagetrack: ${log} ends in a cut-off line 64 (18 bytes; the writer died mid-append): dropped it, read 62 whole events`;
    for (const args of [['audit', log], ['history', log, '--gfn', '0x1234'], ['why', log, '--gfn', '0x1234', '--at', 'end'], ['step', log, '--at', 'start'], ['state', log]]) {
      const r = cli(...args);
      expect(r.stderr.split('\n'), args.join(' ')).toContain(note);
    }
  });

  it('a byte-order mark at the top of a script is accepted (README); in a log header it is named', () => {
    const vm = new PageTrackVm();
    const [r] = runScriptText(vm, '\uFEFF{"op":"notifier-register","node":"n"}');
    expect(r!.ok).toBe(true);
    const log = fresh('bom.log');
    writeFileSync(log, `\uFEFF${readFileSync(DEMO, 'utf8')}`);
    expect(cli('verify', log).stdout.trim()).toBe(`BAD ${log}:1: the header starts with a byte-order mark (U+FEFF); a pagetrack log has none: was it re-saved by an editor?`);
  });
});

describe('bad arguments exit 2 (README exit table), and run reads - as standard input', () => {
  it("a missing argument, an unknown command or option, a bad option value: commander's one-line message and exit 2; --help and --version exit 0", () => {
    const cases: Array<[string[], string]> = [
      [['state'], 'pagetrack: state needs a log (a file, - for standard input, or --nats URL --vm HOST/VM)'],
      [['audit'], 'pagetrack: audit needs a log (a file, - for standard input, or --nats URL --vms PATTERN)'],
      [['verify'], "error: missing required argument 'log'"],
      [['bogus'], "error: unknown command 'bogus'"],
      [['state', DEMO, '--nope'], "error: unknown option '--nope'\n(Did you mean --type?)"],
      [['state', DEMO, '--interval', 'x', '--at', 'end'], "error: option '--interval <N>' argument 'x' is invalid. --interval must be a non-negative integer, got 'x'"],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect([r.status, r.stderr.trim()], args.join(' ')).toEqual([2, message]);
    }
    expect(cli('--version').status).toBe(0);
    expect(cli('--help').status).toBe(0);
  });

  it('run - reads the script from standard input; rejections name "-" and the line', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '-'], { input: '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":16}\n{"op":"bogus"}\n', encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('REJECTED -:2: field \'op\': unknown command "bogus"');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('2 commands, 7 events, 1 rejected');
  });

  it('a log on standard input is named "standard input" in every message, never by its private copy\'s path', () => {
    const demo = readFileSync(DEMO);
    const at = (args: string[], input: Buffer | string) => spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });
    const beyond = at(['state', '-', '--at', 'e999'], demo);
    expect([beyond.status, beyond.stderr]).toEqual([2, 'pagetrack: e999 is beyond the end: standard input has 62 events\n']);
    const never = at(['bisect', '-', '--when', 'warns() > 100'], demo);
    expect([never.status, never.stdout]).toEqual([1, "never: 'warns() > 100' holds at no point of standard input\n"]);
    const cut = at(['state', '-', '--json'], demo.subarray(0, demo.length - 20));
    expect([cut.status, cut.stderr]).toEqual([0, 'pagetrack: standard input ends in a cut-off line 63 (58 bytes; the writer died mid-append): dropped it, read 61 whole events\n']);
    const bad = at(['audit', '-'], 'garbage\n');
    expect([bad.status, bad.stderr]).toEqual([2, 'pagetrack: standard input:1: the header is not JSON (Unexpected token \'g\', "garbage" is not valid JSON)\n']);
  });
});

describe('no stack trace is reachable from the CLI', () => {
  it('odd arguments and odd files: one line, "pagetrack: ...", exit 2', () => {
    const garbage = fresh('garbage.log');
    writeFileSync(garbage, Buffer.from([0xff, 0xfe, 0, 1, 10, 0x5b, 10]));
    const empty = fresh('empty.log');
    writeFileSync(empty, '');
    const nullHeader = fresh('null.log');
    writeFileSync(nullHeader, 'null\n');
    for (const args of [
      ['state', garbage, '--at', 'end'],
      ['audit', empty],
      ['verify', nullHeader],
      ['why', DEMO, '--gfn', 'constructor', '--at', 'end'],
      ['step', DEMO, '--at', 'e99999999999999999999'],
      ['bisect', DEMO, '--when', '('.repeat(5000)],
      ['history', DEMO, '--gfn', '0x1234', '--as', '__proto__'],
      ['step', DEMO, '--at', 'start', '--type', 'constructor'],
      ['simulate', 'toString'],
    ]) {
      const r = cli(...args);
      expect(r.stderr, args.join(' ')).not.toMatch(/^\s+at /m);
      expect(r.status === 1 || r.status === 2, `${args.join(' ')} exited ${r.status}: ${r.stderr}`).toBe(true);
      if (r.status === 2) expect(r.stderr.trim().split('\n').at(-1), args.join(' ')).toMatch(/^(pagetrack: |error: )/);
    }
  });
});
