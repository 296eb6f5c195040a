import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import { InMemoryEventLog, teeSinks } from '../src/events/event-log.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { encodeEvent } from '../src/log/codec.js';
import { LogError, chainLine, creationTime, hashLine, headerLine } from '../src/log/format.js';
import { LineParser } from '../src/log/line-parser.js';
import { LogReader, readAllEvents } from '../src/log/reader.js';
import { LogWriter, type WriterTuning } from '../src/log/writer.js';
import { exec } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-log-'));
});

const CREATED = '2026-01-01T00:00:00.000Z';

/** A small real log: the VM's events, written through LogWriter. */
function writeDemo(name: string): { path: string; vm: PageTrackVm; events: readonly PageTrackEvent[] } {
  const path = join(dir, name);
  const writer = LogWriter.create(path, 'linux-4.6', CREATED);
  const mem = new InMemoryEventLog();
  const vm = new PageTrackVm({ log: teeSinks(writer, mem) });
  exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x1000 });
  exec(vm, { op: 'notifier-register', node: 'vgpu' });
  exec(vm, { op: 'track-add', user: 'vgpu', as: 0, gfn: 0x10 });
  exec(vm, { op: 'write', as: 0, gpa: 0x10000, bytes: 8 });
  exec(vm, { op: 'sp-create', as: 0, gfn: 0x20, level: 2 });
  void writer.close(); // small logs are written on this thread: done when close() returns
  return { path, vm, events: mem.events };
}

/** One event's array text: through the codec for known types, field values in key order otherwise. */
function toArrayJson(o: Record<string, unknown>): string {
  try {
    return encodeEvent(o as unknown as PageTrackEvent);
  } catch {
    return JSON.stringify(Object.values(o));
  }
}

/** Writes `objects` as a chained log (each line's prev = hash of the line before), whatever they hold. */
function writeChained(name: string, objects: Array<Record<string, unknown>>, header = headerLine('linux-4.6', CREATED)): string {
  const lines = [header];
  for (const o of objects) lines.push(chainLine(hashLine(lines.at(-1)!), toArrayJson(o)));
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** The demo's events as plain objects (no prev), to re-chain after tampering. */
function demoObjects(): Array<Record<string, unknown>> {
  return writeDemo('src.log').events.map((e) => ({ ...e }));
}

async function errorOf(path: string): Promise<string> {
  try {
    await readAllEvents(path);
  } catch (err) {
    if (err instanceof LogError) return err.message.slice(path.length);
    throw err;
  }
  return 'no error';
}

describe('the log file: header, chain, round trip', () => {
  it('writes a header, then one chained line per event; reading gives the same events and head hash', async () => {
    const { path, vm, events: written } = writeDemo('a.log');
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines[0]).toBe('{"format":"pagetrack-log","version":1,"profile":"linux-4.6","created":"2026-01-01T00:00:00.000Z"}');
    expect(lines[1]).toBe(`["${hashLine(lines[0]!)}",1,0,"vm-created",2,"linux-4.6",2,true,false]`);
    expect(lines[9]).toBe(`["${hashLine(lines[8]!)}",9,3,"track-count-step",1,0,0,16,0,"vgpu",1,1]`);
    for (let i = 2; i < lines.length - 1; i++) expect(lines[i]!.slice(2, 45)).toBe(hashLine(lines[i - 1]!));
    const { events, summary } = await readAllEvents(path);
    expect(events).toEqual(written.map((e) => ({ ...e })));
    expect(summary).toEqual({
      header: { format: 'pagetrack-log', version: 1, profile: 'linux-4.6', created: CREATED },
      events: vm.eventCount,
      headHash: hashLine(lines.at(-2)!),
      bytes: readFileSync(path).length,
    });
  });

  it('SOURCE_DATE_EPOCH fixes the creation time, so seeded runs give byte-identical logs', () => {
    expect(creationTime({ SOURCE_DATE_EPOCH: '0' })).toBe('1970-01-01T00:00:00.000Z');
    expect(() => creationTime({ SOURCE_DATE_EPOCH: 'soon' })).toThrow("SOURCE_DATE_EPOCH must be a whole number of seconds, got 'soon'");
    const a = readFileSync(writeDemo('b1.log').path);
    const b = readFileSync(writeDemo('b2.log').path);
    expect(a.equals(b)).toBe(true);
  });

  it('hashes in a worker thread give the same result as on the main thread, across chunk boundaries', async () => {
    const { path } = writeDemo('w.log');
    const main = await readAllEvents(path, { hashWorker: false, chunkBytes: 97 });
    const worker = await readAllEvents(path, { hashWorker: true, chunkBytes: 211 });
    expect(worker).toEqual(main);
  });

  it('the read buffers taking turns and the hash worker\'s handed-back buffers: any chunk size, a slow consumer, a changed byte anywhere give what one whole read gives (fast-check)', async () => {
    const { path } = writeDemo('turns.log');
    const good = readFileSync(path);
    const reference = await readAllEvents(path, { hashWorker: false });
    const read = async (file: string, o: { hashWorker: boolean; chunkBytes: number }) => {
      const reader = new LogReader(file, o);
      const events: PageTrackEvent[] = [];
      try {
        for await (const b of reader.batches()) {
          await new Promise((r) => setImmediate(r)); // the read-ahead lands while the consumer waits
          events.push(...b);
        }
        return { events, summary: reader.summary };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 16, max: 600 }), fc.boolean(), fc.option(fc.record({ at: fc.nat(good.length - 1), xor: fc.integer({ min: 1, max: 255 }) })), async (chunkBytes, hashWorker, flip) => {
        if (!flip) {
          expect(await read(path, { hashWorker, chunkBytes })).toEqual(reference);
          return;
        }
        const bad = Buffer.from(good);
        bad[flip.at] = bad[flip.at]! ^ flip.xor;
        const file = join(dir, 'turns-bad.log');
        writeFileSync(file, bad);
        expect(await read(file, { hashWorker, chunkBytes })).toEqual(await read(file, { hashWorker: false, chunkBytes: 1 << 20 }));
      }),
      { numRuns: 60 },
    );
  });
});

describe('the writer: one byte encoder, three hand-over paths', () => {
  /** The demo's events written with the given tuning; returns the file's bytes. */
  async function writeWith(name: string, tuning?: WriterTuning): Promise<Buffer> {
    const events = writeDemo(`src-${name}`).events;
    const cmds = events.at(-1)!.cmd + 1;
    const path = join(dir, name);
    const writer = LogWriter.create(path, 'linux-4.6', CREATED, tuning);
    for (let i = 0; i < 40; i++) writer.append(events.map((e) => ({ ...e, seq: e.seq + i * events.length, cmd: e.cmd + i * cmds })));
    await writer.close();
    return readFileSync(path);
  }

  it('writes the same bytes on this thread in one piece, in many pieces, and through the worker thread', async () => {
    const whole = await writeWith('one-piece.log');
    expect(await writeWith('pieces.log', { pieceBytes: 300 })).toEqual(whole);
    expect(await writeWith('worker.log', { pieceBytes: 700, workerAfterEvents: 50 })).toEqual(whole);
    const lines = whole.toString('utf8').split('\n');
    expect(lines).toHaveLength(2 + 40 * writeDemo('n.log').events.length);
    for (let i = 2; i < lines.length - 1; i++) expect(lines[i]!.slice(2, 45)).toBe(hashLine(lines[i - 1]!));
    expect((await readAllEvents(join(dir, 'worker.log'), { validate: false })).summary.events).toBe(lines.length - 2); // chain and seq only: the copies repeat one history
  });

  it('encodes any field value exactly as JSON.stringify does (numbers, strings with escapes and non-ASCII, objects)', () => {
    const value = fc.oneof(
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.double(),
      fc.constantFrom(0, -0, 2 ** 53, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, Number.NaN, Infinity),
      fc.string({ unit: 'binary' }),
      fc.boolean(),
      fc.constant(null),
      fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string({ unit: 'grapheme' }), fc.boolean())),
      // commands: objects written key by key (undefined values left out, nested values, any keys)
      fc.dictionary(fc.string({ unit: 'binary' }), fc.option(fc.jsonValue(), { nil: undefined })),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 8 }), fc.nat(), (values, seq) => {
        // A warn (v2) has eleven fields, eight optional: absent ones in the middle become null, at the end nothing.
        const fields = ['kind', 'fn', 'printed', 'as', 'slot', 'gfn', 'mode', 'user', 'level', 'index', 'value'];
        const e: Record<string, unknown> = { seq, cmd: 3, type: 'warn', v: 2 };
        values.forEach((x, i) => (e[fields[i]!] = x));
        const expected = JSON.stringify([seq, 3, 'warn', 2, ...values]);
        expect(encodeEvent(e as unknown as PageTrackEvent)).toBe(expected);
      }),
      { numRuns: 500 },
    );
    const gaps = { seq: 1, cmd: 0, type: 'warn', v: 2, kind: 'k', fn: 'f', gfn: 7 } as unknown as PageTrackEvent;
    expect(encodeEvent(gaps)).toBe('[1,0,"warn",2,"k","f",null,null,null,7]');
  });
});

describe('the reader\'s byte parser', () => {
  const prev = hashLine('x');
  /** What the byte parser makes of one line: its values after prev, or 'declined'. */
  const parsed = (text: string): unknown => {
    const a = new LineParser().parse(Buffer.from(`${text}\n`, 'utf8'), 0);
    return a === undefined ? 'declined' : a.slice(1);
  };

  it('gives exactly what JSON.parse gives, or leaves the line to JSON.parse (any JSON values, any bytes)', () => {
    const scalar = fc.oneof(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.double(), fc.string({ unit: 'binary' }), fc.string(), fc.boolean(), fc.constant(null));
    const value = fc.oneof(scalar, fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), scalar), fc.array(scalar, { maxLength: 2 }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), (values) => {
        const text = `["${prev}",${JSON.stringify(values).slice(1)}`;
        const got = parsed(text);
        if (got !== 'declined') expect(got).toStrictEqual((JSON.parse(text) as unknown[]).slice(1));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (tail) => {
        const text = `["${prev}",${tail}`.replace(/\n/g, ' ');
        const got = parsed(text);
        if (got === 'declined') return;
        expect(got).toStrictEqual((JSON.parse(text) as unknown[]).slice(1)); // accepted: valid JSON, same values
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts what the writer writes and declines the rest', () => {
    expect(parsed(`["${prev}",7,2,"command",1,{"op":"write","as":0,"gpa":16805752,"bytes":8,"via":"guest"}]`)).toStrictEqual([7, 2, 'command', 1, { op: 'write', as: 0, gpa: 16805752, bytes: 8, via: 'guest' }]);
    expect(parsed(`["${prev}",-12,0,true,false,null,"",{}]`)).toStrictEqual([-12, 0, true, false, null, '', {}]);
    for (const tail of ['1.5]', '1e3]', '01]', '1234567890123456]', '"é"]', '"a\\"b"]', '{"a":{"b":1}}]', '{"__proto__":1}]', ' 1]', '1 ]', '1]x', '[1]]', 'tru]', '1,]'])
      expect(parsed(`["${prev}",${tail}`), tail).toBe('declined');
    expect(parsed(`["${prev.slice(1)}=",1]`)).toBe('declined');
  });
});

describe('tampering and hostile input: the exact error', () => {
  it.each([
    ['an edited field (caught by the next line)', (_o: unknown, lines: string[]) => {
      lines[9] = lines[9]!.replace(',16,0,"vgpu"', ',17,0,"vgpu"'); // line 10: the track-count-step's gfn
    }, ":11: field 'prev': chain broken: expected the hash of line 10"],
    ['a deleted event', (_o: unknown, lines: string[]) => {
      lines.splice(5, 1);
    }, ":6: field 'seq': gap: seq 6 follows seq 4, so event 5 is missing"],
    ['an inserted copy of an event', (_o: unknown, lines: string[]) => {
      lines.splice(5, 0, lines[4]!);
    }, ":6: field 'seq': duplicate: seq 4 repeats the event before it"],
    ['two events swapped', (_o: unknown, lines: string[]) => {
      [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    }, ":5: field 'seq': gap: seq 5 follows seq 3, so event 4 is missing"],
    ['a forged prev on a valid event', (_o: unknown, lines: string[]) => {
      lines[3] = `["${'A'.repeat(43)}${lines[3]!.slice(45)}`;
    }, `:4: field 'prev': chain broken: expected the hash of line 3`],
  ])('%s', async (_name, tamper, expected) => {
    const { path } = writeDemo('t.log');
    const lines = readFileSync(path, 'utf8').split('\n');
    tamper([], lines);
    writeFileSync(path, lines.join('\n'));
    expect(await errorOf(path)).toContain(expected);
  });

  it('a spliced foreign event, correctly chained but from another history', async () => {
    const objs = demoObjects();
    objs.splice(4, 1, { seq: 5, cmd: 1, type: 'memslot-created', v: 1, as: 0, slot: 0, base: 0, npages: 16, flags: 0, uaddr: 0 });
    const path = writeChained('splice.log', objs);
    expect(await errorOf(path)).toBe(":6: field 'slot': memslot 0 of address space 0 already exists");
  });

  it.each([
    ['bad JSON', (o: Record<string, unknown>[]) => o, (l: string[]) => (l[9] = l[9]!.slice(0, -1)), ':10: malformed JSON'],
    ['a wrong type', (o: Record<string, unknown>[]) => ((o[8]!.gfn = '16'), o), null, ":10: field 'gfn': must be an integer in 0..1099511627775, got \"16\""],
    ['a huge number', (o: Record<string, unknown>[]) => ((o[8]!.count = 1e21), o), null, ":10: field 'count': must be a count in 0..65535, got 1e+21"],
    ['a missing field', (o: Record<string, unknown>[]) => (delete o[8]!.user, o), null, ":10: field 'user': is missing"],
    ['an extra value', (o: Record<string, unknown>[]) => o, (l: string[]) => (l[9] = l[9]!.replace(/]$/, ',"x"]')), ':10: has 13 values; a track-count-step line has at most 12'],
    ['an unknown type', (o: Record<string, unknown>[]) => ((o[8]!.type = 'track-bump'), o), null, ":10: field 'type': unknown event type \"track-bump\""],
    ['a version from the future', (o: Record<string, unknown>[]) => ((o[8]!.v = 9), o), null, ":10: field 'v': track-count-step version 9 is newer than this build's 1: upgrade pagetrack"],
    ['out-of-order sequence numbers', (o: Record<string, unknown>[]) => ((o[8]!.seq = 2), o), null, ":10: field 'seq': out of order: seq 2 comes after seq 8"],
    ['a gfn outside its slot', (o: Record<string, unknown>[]) => ((o[8]!.gfn = 0x5000), o), null, ":10: field 'gfn': gfn 0x5000 is outside slot 0 of address space 0 (base 0x0, 4096 pages)"],
    ['a count beyond 16 bits', (o: Record<string, unknown>[]) => ((o[8]!.count = 65536), o), null, ":10: field 'count': must be a count in 0..65535, got 65536"],
  ])('%s', async (_name, mutate, mutateLines, expected) => {
    const base = demoObjects();
    expect(base[8]!.type).toBe('track-count-step'); // seq 9, line 10
    const objs = mutate(base);
    const path = writeChained('h.log', objs);
    if (mutateLines) {
      const lines = readFileSync(path, 'utf8').split('\n');
      mutateLines(lines);
      writeFileSync(path, lines.join('\n'));
    }
    expect(await errorOf(path)).toMatch(new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('header problems name line 1 and the field', async () => {
    expect(await errorOf(writeChained('h1.log', [], '{"format":"other","version":1}'))).toBe(":1: field 'format': not a pagetrack log: expected \"pagetrack-log\", got \"other\"");
    expect(await errorOf(writeChained('h2.log', [], '{"format":"pagetrack-log","version":2,"profile":"linux-4.6","created":"x"}'))).toBe(":1: field 'version': log format version 2 is not one this build reads (1)");
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, '');
    expect(await errorOf(empty)).toBe(':1: the log is empty');
  });

  it('fuzz: any single changed byte before the last line is detected', async () => {
    const { path } = writeDemo('fuzz-src.log');
    const original = readFileSync(path);
    const lastLineStart = original.lastIndexOf(10, original.length - 2) + 1;
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(original);
      const at = Math.floor(rnd() * lastLineStart);
      const to = (bytes[at]! + 1 + Math.floor(rnd() * 254)) % 256;
      bytes[at] = to;
      const p = join(dir, 'fuzz.log');
      writeFileSync(p, bytes);
      const result = await errorOf(p);
      expect(result, `byte ${at} -> ${to}`).not.toBe('no error');
    }
  });
});

describe('crash safety', () => {
  it('a log cut mid-line: readers stop at the last whole event and say what they dropped; append repairs it', async () => {
    const { path, vm } = writeDemo('cut.log');
    expect(vm.eventCount).toBe(readFileSync(path, 'utf8').trim().split('\n').length - 1);
    const full = readFileSync(path);
    const cutAt = full.length - 20;
    truncateSync(path, cutAt);
    const { events, summary } = await readAllEvents(path);
    const lastNl = full.lastIndexOf(10, cutAt - 1);
    expect(summary.truncated).toEqual({ line: vm.eventCount + 1, bytes: cutAt - lastNl - 1 });
    expect(events).toHaveLength(vm.eventCount - 1);
    // Reopen for append: the cut line goes, every whole event stays, the chain continues.
    const { writer, tail } = LogWriter.openForAppend(path);
    expect(tail).toMatchObject({ lastSeq: vm.eventCount - 1, repairedBytes: cutAt - lastNl - 1 });
    writer.append([{ seq: vm.eventCount, cmd: tail.lastCmd + 1, type: 'command-rejected', v: 1, reason: 'appended after repair' }]);
    await writer.close();
    const after = await readAllEvents(path);
    expect(after.summary.truncated).toBeUndefined();
    expect(after.events).toHaveLength(vm.eventCount);
    expect(after.events.slice(0, -1)).toEqual(events);
  });

  it('truncation at every byte of the last two lines is detected and repaired', async () => {
    const { path, vm } = writeDemo('cut-all.log');
    const full = readFileSync(path);
    const from = full.lastIndexOf(10, full.lastIndexOf(10, full.length - 2) - 1) + 1;
    for (let cut = from + 1; cut < full.length; cut++) {
      if (full[cut - 1] === 10) continue; // a cut just after a newline is a shorter whole log
      writeFileSync(path, full.subarray(0, cut));
      const { summary } = await readAllEvents(path);
      expect(summary.truncated, `cut at ${cut}`).toBeDefined();
      const { writer } = LogWriter.openForAppend(path);
      await writer.close();
      const repaired = await readAllEvents(path);
      expect(repaired.summary.truncated).toBeUndefined();
      expect(repaired.events.length).toBeGreaterThanOrEqual(vm.eventCount - 2);
    }
  });
});
