/**
 * Issue 13, speed: the ingest feed (src/ingest/trace-feed.ts) reads the trace on a thread of
 * its own and hands the model's thread batches of byte offsets; walk lines are decoded in place
 * and gpas computed in numbers. Each shortcut is checked against the plain way it replaced:
 * the line splitter against a naive split, the byte scanners against the kernel formats'
 * regular expressions, the number arithmetic against BigInt, and the threaded ingest against
 * the one-thread ingest, byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeEmulate, decodePagingElement, decodeWalk } from '../src/ingest/payloads.js';
import { gpaOf } from '../src/ingest/vm-ingest.js';
import { type Line, splitLines } from '../src/io/lines.js';
import { tracefsLine } from './trace-printers.js';

const ROOT = join(import.meta.dirname, '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-feed-'));
});

/** What the line rules say (src/io/lines.ts), done the slow way on the whole input. */
function naiveLines(all: Buffer, max: number): Line[] {
  let b = all;
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
  if (b.length === 0) return [];
  const out: Line[] = [];
  let start = 0;
  let line = 1;
  for (;;) {
    const nl = b.indexOf(10, start);
    const seg = b.subarray(start, nl < 0 ? b.length : nl);
    if (nl < 0 && seg.length === 0) break;
    if (seg.length > max) out.push({ line, tooLong: seg.length });
    else out.push({ line, text: seg.subarray(0, seg.length > 0 && seg[seg.length - 1] === 13 ? seg.length - 1 : seg.length).toString('utf8') });
    line++;
    if (nl < 0) break;
    start = nl + 1;
  }
  return out;
}

describe('the line splitter (chunks split on bytes, decoded only when read)', () => {
  it('gives the lines a naive split gives, for any text cut into any chunks (LF, CRLF, lone CR, BOM, non-ASCII, over-long lines)', async () => {
    const text = fc.array(fc.constantFrom('a', 'b', ' ', '\n', '\r', '\r\n', 'é', '€', '\u{1F600}', 'kvm_exit: x'), { maxLength: 60 }).map((p) => p.join(''));
    const input = fc.tuple(fc.boolean(), text).map(([bom, t]) => Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(t, 'utf8')]));
    await fc.assert(
      fc.asyncProperty(input, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 12 }), async (all, cutsRaw, max) => {
        const cuts = [...new Set(cutsRaw.map((c) => c % (all.length + 1)))].sort((x, y) => x - y);
        const chunks = async function* () {
          let at = 0;
          for (const c of [...cuts, all.length]) {
            yield all.subarray(at, c);
            at = c;
          }
        };
        const got: Line[] = [];
        for await (const l of splitLines(chunks(), max)) got.push(l);
        expect(got).toEqual(naiveLines(all, max));
      }),
      { numRuns: 400 },
    );
  });
});

describe('the walk decoders read bytes in place, as the kernel formats say', () => {
  const hex = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${min},${max}}$`));
  const low32 = (h: string) => Number(BigInt(`0x${h}`) & 0xffffffffn);

  it('kvm_mmu_pagetable_walk "addr %llx pferr %x %s": the gva\'s low 32 bits and pferr exact, or not this shape', () => {
    const payload = fc.oneof(
      fc.tuple(hex(1, 18), hex(1, 9), fc.constantFrom('', ' ', ' W', ' P|W|U', 'x')).map(([a, p, f]) => `addr ${a} pferr ${p}${f}`),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(payload, (p) => {
        const m = /^addr ([0-9a-f]{1,16}) pferr ([0-9a-f]{1,8})(?: |$)/.exec(p);
        const d = decodeWalk(p);
        if (m) expect(d).toEqual({ addr: Number(BigInt(`0x${m[1]}`)), addrLow: low32(m[1]!), pferr: Number.parseInt(m[2]!, 16) });
        else expect(d).toHaveProperty('error');
      }),
      { numRuns: 1000 },
    );
  });

  it('kvm_mmu_paging_element "pte %llx level %u": the gpte\'s halves and the level exact, or not this shape', () => {
    const payload = fc.oneof(
      fc.tuple(hex(1, 18), fc.stringMatching(/^[0-9]{0,4}$/), fc.constantFrom('', ' ', '\t', ' x', '  ')).map(([x, l, t]) => `pte ${x} level ${l}${t}`),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(payload, (p) => {
        const m = /^pte ([0-9a-f]{1,16}) level (\d{1,3})\s*$/.exec(p);
        const d = decodePagingElement(p);
        if (m) {
          const v = BigInt(`0x${m[1]}`);
          expect(d).toEqual({ pte: { high: Number(v >> 32n), low: Number(v & 0xffffffffn) }, level: Number(m[2]) });
        } else expect(d).toHaveProperty('error');
      }),
      { numRuns: 1000 },
    );
  });

  it('kvm_emulate_insn read in place: the kernel\'s sample; a hostile rip of 2 million hex digits or an over-long tail is an answer, not a crash', () => {
    expect(decodeEmulate('0:ffffffff810551b8:0f 00 d8 (prot64)', 'kernel')).toEqual({ rip: 0xffffffff810551b8, bytes: Uint8Array.from([0x0f, 0x00, 0xd8]), mode: 'prot64', failed: false });
    expect(decodeEmulate(`0:${'f'.repeat(2_000_000)}:0f (prot64)`, 'kernel')).toMatchObject({ rip: Infinity, mode: 'prot64' });
    expect(decodeEmulate(`0:2000:${'48 '.repeat(100_000)}(prot64)`, 'kernel')).toEqual({ error: 'kvm_emulate_insn: "CSBASE:RIP:BYTES (MODE)[ failed]"' });
  });

  it('gpaOf (walk_addr_generic\'s last level) in numbers equals the BigInt arithmetic for any gpte, level and gva', () => {
    const big = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(big, big, fc.integer({ min: 1, max: 4 }), (pte, gva, level) => {
        const ps = (pte & 0x80n) !== 0n;
        const shift = level === 1 ? 12n : ps && level === 2 ? 21n : ps && level === 3 ? 30n : undefined;
        const want = (pte & 1n) === 0n || shift === undefined ? undefined : Number((pte & 0x000ffffffffff000n & ~((1n << shift) - 1n)) | (gva & ((1n << shift) - 1n)));
        expect(gpaOf(Number(gva & 0xffffffffn), { pte: { high: Number(pte >> 32n), low: Number(pte & 0xffffffffn) }, level })).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the feed thread and the one-thread ingest give the same log', () => {
  it('byte for byte, with the same report, and the same as every line through the full grammar, on a trace with every kind of line (other events, walks, TGID lines, CRLF, junk, an over-long line, non-ASCII)', () => {
    const trace = join(dir, 'mixed.trace');
    const lines = ['# tracer: nop', '#'];
    const ts = (i: number) => `100.${String(i).padStart(6, '0')}`;
    let i = 0;
    const bad: Array<{ line: number; expected: string }> = []; // the errors ingest must report, in order
    const add = (event: string, payload: string, task = 'qemu-kvm', pid = 700) => lines.push(tracefsLine(task, pid, i % 2, ts(++i), event, payload));
    add('tracing_mark_write', 'pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":4096}');
    add('kvm_mmu_get_page', 'sp gen 0 gfn 1 l4 8-byte q0 wux nxe ad root 0 sync new');
    for (let k = 0; k < 30000; k++) {
      add('kvm_exit', 'reason EXCEPTION_NMI rip 0x2000 info 0 0');
      add('kvm_emulate_insn', '0:2000:48 89 18 (prot64)');
      add('kvm_mmu_pagetable_walk', `addr ${(k % 7 === 0 ? 0x1000 + 8 * (k % 500) : 0xffff888000100000 + 8 * k).toString(16)} pferr 2 W`);
      add('kvm_mmu_paging_element', 'pte 8000000000002003 level 4');
      add('kvm_mmu_paging_element', k % 7 === 0 ? 'pte 1003 level 1' : 'pte 83 level 2');
      add('kvm_entry', 'vcpu 0, rip 0x2003');
      if (k % 500 === 1) lines.push(`  qemu-kvm-700   (  700) [001] ..... ${ts(++i)}: kvm_cr: cr_write 3 = 0x1000`); // a TGID column: the full grammar
      if (k % 700 === 2 && k > 28000) lines.push(`${tracefsLine('vcpu-é', 700, 0, ts(++i), 'kvm_cr', 'cr_write 3 = 0x2000')}\r`); // non-ASCII task, CRLF: the last chunk is read as UTF-8
      if (k % 900 === 3) {
        lines.push(tracefsLine('qemu-kvm', 700, 0, ts(++i), 'kvm_mmu_paging_element', 'pte zz level 1'));
        bad.push({ line: lines.length, expected: 'kvm_mmu_paging_element: "pte P level L"' });
      }
      if (k % 1000 === 4) lines.push('garbage that is no trace line at all');
      if (k === 1500) {
        lines.push('x'.repeat(1_100_000));
        bad.push({ line: lines.length, expected: 'the line is 1100000 bytes long, over the limit of 1048576 bytes' });
      }
      if (k % 1100 === 5) add('kvm_mmu_get_page', 'sp gen 0 gfn 1 l4 8-byte q0 wux nxe ad root 0 sync existing', 'other-vm', 900);
    }
    writeFileSync(trace, `${lines.join('\n')}\n`);
    const run = (threads: boolean, scan = true) => {
      const out = join(dir, `mixed-${threads}-${scan}.log.ndjson`);
      const script = `
        const { ingest } = await import(${JSON.stringify(join(ROOT, 'dist/src/ingest/ingest.js'))});
        const { LINUX_6_9 } = await import(${JSON.stringify(join(ROOT, 'dist/src/domain/profile.js'))});
        const r = await ingest({ profile: LINUX_6_9, input: ${JSON.stringify(trace)}, out: (vm) => ${JSON.stringify(out)} + '.' + vm, created: '2026-01-01T00:00:00.000Z', scan: ${scan} });
        const { seconds, feedThread, vms, ...rest } = r;
        console.log(JSON.stringify({ feedThread, rest, vms: vms.map(({ log, ...v }) => v) }));`;
      const file = join(dir, `run-${threads}-${scan}.mjs`);
      writeFileSync(file, script);
      const p = spawnSync(process.execPath, [file], { env: { ...process.env, PAGETRACK_INGEST_THREADS: threads ? '' : '1' }, encoding: 'utf8' });
      expect(p.stderr).toBe('');
      const r = JSON.parse(p.stdout) as { feedThread: boolean; rest: { errorCount: number; errors: Array<{ line: number; column: number; expected: string }> }; vms: Array<{ vm: string; commands: number; writes: number }> };
      return { ...r, logs: r.vms.map((v) => createHash('sha256').update(readFileSync(`${out}.${v.vm}`)).digest('hex')) };
    };
    const threaded = run(true);
    const inline = run(false);
    const plain = run(true, false); // every line through the full grammar: what the fast lane must equal
    expect([threaded.feedThread, inline.feedThread]).toEqual([true, false]);
    for (const other of [inline, plain]) {
      expect(threaded.rest).toEqual(other.rest);
      expect(threaded.vms).toEqual(other.vms);
      expect(threaded.logs).toEqual(other.logs);
    }
    // and the trace was what it meant to be: two VMs, 30000 writes (most to kernel addresses), the bad lines reported
    expect(threaded.vms.map((v) => [v.vm, v.writes])).toEqual([
      ['700', 30000],
      ['900', 0],
    ]);
    expect(threaded.rest.errorCount).toBe(bad.length);
    expect(threaded.rest.errors.map(({ line, expected }) => ({ line, expected }))).toEqual(bad);
  });
});
