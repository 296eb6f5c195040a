/**
 * `pagetrack ingest`: a host's trace (tracefs text, trace-cmd report, perf script; plain, gzip or
 * zstd; a file or standard input) streamed into one pagetrack log per VM. The format is detected
 * from the content; the trace is never held in memory (lines are split as they arrive, and only a
 * few hundred are looked at before the format is known).
 */
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import type { Command } from '../domain/commands.js';
import type { KernelProfile } from '../domain/profile.js';
import { openInput } from '../io/input-file.js';
import { splitLineBatches, tooLongReason } from '../io/lines.js';
import { LogWriter } from '../log/writer.js';
import { PERF_SCRIPT } from './formats/perf-script.js';
import { TRACE_CMD, TRACE_CMD_RAW } from './formats/trace-cmd.js';
import { TRACEFS } from './formats/tracefs.js';
import type { TraceFormat, TraceRecord } from './record.js';
import { type IngestFinding, VmIngest } from './vm-ingest.js';

/** Events ingest reads (kvmmmu and kvm, and trace markers); any other is counted by name. */
export const PAGE_TRACKING_EVENTS: ReadonlySet<string> = new Set([
  'kvm_mmu_get_page',
  'kvm_mmu_prepare_zap_page',
  'kvm_mmu_zap_all_fast',
  'kvm_mmu_invalidate_zap_all_pages',
  'kvm_mmu_set_spte',
  'kvm_tdp_mmu_spte_changed',
  'kvm_mmu_pagetable_walk',
  'kvm_mmu_paging_element',
  'kvm_emulate_insn',
  'kvm_page_fault',
  'kvm_cr',
  'tracing_mark_write',
  'print',
]);

export type FormatName = 'tracefs' | 'trace-cmd' | 'trace-cmd-raw' | 'perf-script';
export const FORMATS: Readonly<Record<FormatName, TraceFormat>> = Object.freeze({ tracefs: TRACEFS, 'trace-cmd': TRACE_CMD, 'trace-cmd-raw': TRACE_CMD_RAW, 'perf-script': PERF_SCRIPT });

export interface IngestOptions {
  readonly profile: KernelProfile;
  /** The trace file, or '-' for standard input. */
  readonly input: string;
  readonly format?: FormatName;
  /** Where each VM's log goes, by VM key (its process id). */
  readonly out: (vm: string) => string;
  /** Only this VM (its process id); all by default. */
  readonly vm?: string;
  readonly layout?: readonly Command[];
  readonly tdp?: boolean;
  readonly externalWriteTracking?: boolean;
  readonly created?: string;
  readonly onProgress?: (p: { bytes: number; totalBytes: number; events: number }) => void;
}

export interface IngestError {
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  readonly text: string;
}

export interface IngestReport {
  readonly input: string;
  readonly format: FormatName;
  readonly compression: 'none' | 'gzip' | 'zstd';
  readonly lines: number;
  readonly records: number;
  /** Page-tracking events read, by event name. */
  readonly used: Readonly<Record<string, number>>;
  /** Other events, by name: not page tracking. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly errorCount: number;
  /** The first errors (at most ERRORS_KEPT). */
  readonly errors: readonly IngestError[];
  readonly vms: ReadonlyArray<{
    readonly vm: string;
    readonly task: string;
    readonly log: string;
    readonly commands: number;
    readonly events: number;
    readonly inferredSlots: number;
    readonly adoptedPages: number;
    readonly writes: number;
    readonly writesWithoutAddress: number;
  }>;
  readonly findingCount: number;
  readonly findingsByKind: Readonly<Record<string, number>>;
  readonly findings: readonly IngestFinding[];
  readonly seconds: number;
}

export const ERRORS_KEPT = 100;
export const FINDINGS_KEPT = 1000;
const DETECT_LINES = 200;

/** The format of a trace from its first lines (`--format` overrides). */
export function detectFormat(lines: readonly string[]): FormatName {
  if (lines.some((l) => l.startsWith('# tracer:'))) return 'tracefs';
  for (const l of lines) {
    if (/^\s*\S.*?\s+\d+(?:\/\d+)?\s+\[\d+\]\s+\d+\.\d+:\s+(?:\d+\s+)?(kvm|kvmmmu|ftrace):\w+:/.test(l)) return 'perf-script';
  }
  const sp = lines.find((l) => /kvm_mmu_(get|prepare_zap)_page:/.test(l));
  if (sp) {
    const payload = sp.slice(sp.indexOf('_page:') + 6).trim();
    if (/\bgfn=/.test(payload)) return 'trace-cmd-raw';
    if (/^(new|existing) sp gfn|^sp gfn|^\d+(\/\d+)? q\d/.test(payload)) return 'trace-cmd';
    return 'tracefs';
  }
  if (lines.some((l) => /^cpus=\d+/.test(l))) return lines.some((l) => /\s\w+=\S/.test(l) && /\]\s+\d+\.\d+:/.test(l)) ? 'trace-cmd-raw' : 'trace-cmd';
  return 'tracefs';
}

/** Bytes of the input, decompressed when it starts with gzip's or zstd's magic. */
async function* inputBytes(path: string, onCompression: (c: IngestReport['compression']) => void, onRead: (n: number) => void, onSize: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let stream: AsyncIterable<Buffer>;
  let close = async () => {};
  if (path === '-') stream = process.stdin;
  else {
    // Opened once: a FIFO must not be opened and closed for its size first.
    const { fh, size } = await openInput(path, 'trace', ['regular', 'fifo']);
    onSize(size);
    stream = fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 });
    close = () => fh.close();
  }
  try {
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const head: Buffer = first.value;
    const rest = async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    };
    if (head[0] === 0x1f && head[1] === 0x8b) {
      onCompression('gzip');
      const gunzip = createGunzip();
      const feed = (async () => {
        for await (const b of rest()) {
          onRead(b.length);
          if (!gunzip.write(b)) await new Promise((res) => gunzip.once('drain', res));
        }
        gunzip.end();
      })();
      feed.catch((err: unknown) => gunzip.destroy(err as Error));
      for await (const b of gunzip) yield b as Buffer;
      await feed;
    } else if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
      onCompression('zstd');
      const out: Uint8Array[] = [];
      const z = new ZstdDecompress((chunk) => out.push(chunk));
      for await (const b of rest()) {
        onRead(b.length);
        z.push(b);
        while (out.length) yield out.shift()!;
      }
      z.push(new Uint8Array(0), true);
      while (out.length) yield out.shift()!;
    } else {
      onCompression('none');
      for await (const b of rest()) {
        onRead(b.length);
        yield b;
      }
    }
  } finally {
    await close();
  }
}

export async function ingest(o: IngestOptions): Promise<IngestReport> {
  const started = performance.now();
  let compression: IngestReport['compression'] = 'none';
  let read = 0;
  let totalBytes = 0;
  const used: Record<string, number> = Object.create(null) as Record<string, number>;
  const skipped: Record<string, number> = Object.create(null) as Record<string, number>;
  const errors: IngestError[] = [];
  let errorCount = 0;
  const findings: IngestFinding[] = [];
  const findingsByKind: Record<string, number> = Object.create(null) as Record<string, number>;
  let findingCount = 0;
  const vms = new Map<string, { ingest: VmIngest; writer: LogWriter; task: string; log: string }>();
  let lines = 0;
  let records = 0;
  let format: TraceFormat | undefined = o.format ? FORMATS[o.format] : undefined;
  let formatName: FormatName = o.format ?? 'tracefs';
  const early: Array<{ line: number; text: string }> = [];

  const error = (line: number, column: number, expected: string, text: string) => {
    errorCount++;
    if (errors.length < ERRORS_KEPT) errors.push({ line, column, expected, text: text.length > 200 ? `${text.slice(0, 197)}...` : text });
  };
  const onFinding = (f: IngestFinding) => {
    findingCount++;
    findingsByKind[f.kind] = (findingsByKind[f.kind] ?? 0) + 1;
    if (findings.length < FINDINGS_KEPT) findings.push(f);
  };
  const vmFor = (r: TraceRecord) => {
    const key = String(r.tgid ?? r.pid);
    if (o.vm !== undefined && o.vm !== key) return undefined;
    let v = vms.get(key);
    if (!v) {
      const log = o.out(key);
      const writer = LogWriter.create(log, o.profile.name, ...(o.created ? [o.created] : []));
      const ingest = new VmIngest(key, { profile: o.profile, file: o.input, payloads: format!.payloads, log: writer, tdp: o.tdp ?? true, externalWriteTracking: o.externalWriteTracking ?? false, layout: o.layout ?? [], onFinding });
      v = { ingest, writer, task: r.task, log };
      vms.set(key, v);
    }
    return v;
  };
  const handle = (text: string, line: number) => {
    // Other events are only counted: their name is enough (no parse, no record).
    const quick = format!.eventOf(text);
    if (quick !== undefined && !PAGE_TRACKING_EVENTS.has(quick) && /^[A-Za-z_]\w*$/.test(quick)) {
      records++;
      skipped[quick] = (skipped[quick] ?? 0) + 1;
      return;
    }
    const p = format!.parse(text, line);
    if (p.kind === 'skip') return;
    if (p.kind === 'error') {
      if ([...PAGE_TRACKING_EVENTS].some((e) => text.includes(`${e}:`))) error(line, p.column, p.expected, text);
      else skipped['(unrecognised line)'] = (skipped['(unrecognised line)'] ?? 0) + 1;
      return;
    }
    records++;
    const r = p.record;
    if (!PAGE_TRACKING_EVENTS.has(r.event)) {
      skipped[r.event] = (skipped[r.event] ?? 0) + 1;
      return;
    }
    const v = vmFor(r);
    if (!v) return;
    v.ingest.decodeError = undefined;
    if (v.ingest.see(r)) used[r.event] = (used[r.event] ?? 0) + 1;
    else if (v.ingest.decodeError) error(line, text.indexOf(r.payload) + 1, v.ingest.decodeError, text);
    else skipped[r.event] = (skipped[r.event] ?? 0) + 1;
  };

  try {
    for await (const batch of splitLineBatches(inputBytes(o.input, (c) => (compression = c), (n) => (read += n), (size) => (totalBytes = size)))) {
      for (const l of batch) {
        lines++;
        if ('tooLong' in l) {
          error(l.line, 1, tooLongReason(l.tooLong), '');
          continue;
        }
        if (!format) {
          early.push(l);
          if (early.length < DETECT_LINES) continue;
          formatName = detectFormat(early.map((x) => x.text));
          format = FORMATS[formatName];
          for (const e of early.splice(0)) handle(e.text, e.line);
          continue;
        }
        handle(l.text, l.line);
      }
      o.onProgress?.({ bytes: read, totalBytes, events: lines });
    }
    if (!format) {
      formatName = detectFormat(early.map((x) => x.text));
      format = FORMATS[formatName];
      for (const e of early.splice(0)) handle(e.text, e.line);
    }
    for (const v of vms.values()) v.ingest.finish();
  } finally {
    for (const v of vms.values()) await v.writer.close();
  }
  return {
    input: o.input,
    format: formatName,
    compression,
    lines,
    records,
    used: { ...used },
    skipped: { ...skipped },
    errorCount,
    errors,
    vms: [...vms].map(([vm, v]) => ({ vm, task: v.task, log: v.log, commands: v.ingest.vm.commandCount, events: v.ingest.vm.eventCount, ...pick(v.ingest.stats) })),
    findingCount,
    findingsByKind: { ...findingsByKind },
    findings,
    seconds: (performance.now() - started) / 1000,
  };
}

function pick(s: VmIngest['stats']) {
  return { inferredSlots: s.inferredSlots, adoptedPages: s.adoptedPages, writes: s.writes, writesWithoutAddress: s.writesWithoutAddress };
}
