/**
 * `pagetrack ingest`: a host's trace (tracefs text, trace-cmd report, perf script; plain, gzip or
 * zstd; a file or standard input) streamed into one pagetrack log per VM. The format is detected
 * from the content; the trace is never held in memory (lines are split as they arrive, and only a
 * few hundred are looked at before the format is known).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Command } from '../domain/commands.js';
import type { KernelProfile } from '../domain/profile.js';
import { InputError } from '../io/input-file.js';
import { tooLongReason } from '../io/lines.js';
import { LogWriter } from '../log/writer.js';
import { FORMATS, type FormatName, PAGE_TRACKING_EVENTS } from './formats/registry.js';
import type { TraceFormat, TraceRecord } from './record.js';
import { BatchText, type Compression, EVENT_CODES, EntryKind, type FeedBatch, STRIDE, traceFeed } from './trace-feed.js';
import { type IngestFinding, VmIngest } from './vm-ingest.js';

export { FORMATS, type FormatName, PAGE_TRACKING_EVENTS, detectFormat } from './formats/registry.js';

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
  /** Whether the feed locates tracefs headers and decodes walk lines itself (default); false sends every line through the format's full grammar (the slow way the fast lane is checked against). */
  readonly scan?: boolean;
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
  readonly compression: Compression;
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
  /** Whether the trace was read on a thread of its own (feed-worker.ts) or on the model's. */
  readonly feedThread: boolean;
}

export const ERRORS_KEPT = 100;
export const FINDINGS_KEPT = 1000;

/**
 * The feed's batches: from a worker thread (feed-worker.js beside this module, when it is there:
 * the built package), or read here (standard input, which a worker cannot read; TypeScript
 * sources run by the tests; PAGETRACK_INGEST_THREADS=1).
 */
function feed(input: string, format: FormatName | undefined, scan: boolean): { batches: AsyncGenerator<FeedBatch>; threaded: boolean } {
  const script = fileURLToPath(new URL('./feed-worker.js', import.meta.url));
  const threaded = input !== '-' && process.env.PAGETRACK_INGEST_THREADS !== '1' && existsSync(script);
  return { batches: threaded ? workerFeed(script, input, format, scan) : traceFeed(input, format, scan), threaded };
}

async function* workerFeed(script: string, input: string, format: FormatName | undefined, scan: boolean): AsyncGenerator<FeedBatch> {
  const worker = new Worker(script, { workerData: { input, scan, ...(format ? { format } : {}) } });
  type Message = { batch?: FeedBatch; done?: true; error?: { message: string; input: boolean; path?: string; code?: string } };
  const queue: Message[] = [];
  let failed: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: Message) => {
    queue.push(m);
    poke();
  });
  worker.on('error', (err) => {
    failed = err;
    poke();
  });
  worker.on('exit', () => {
    exited = true;
    poke();
  });
  try {
    for (;;) {
      const m = queue.shift();
      if (m === undefined) {
        if (failed) throw failed;
        if (exited) throw new Error('the ingest feed thread stopped before the end of the trace');
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (m.error) throw m.error.input ? new InputError(m.error.path ?? input, m.error.message, m.error.code) : new Error(m.error.message);
      if (m.done) return;
      yield m.batch!;
      worker.postMessage({ credit: 1 });
    }
  } finally {
    await worker.terminate();
  }
}

export async function ingest(o: IngestOptions): Promise<IngestReport> {
  const started = performance.now();
  let compression: Compression = 'none';
  const used: Record<string, number> = Object.create(null) as Record<string, number>;
  const skipped: Record<string, number> = Object.create(null) as Record<string, number>;
  const others = new Map<string, number>();
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

  const error = (line: number, column: number, expected: string, text: string) => {
    errorCount++;
    if (errors.length < ERRORS_KEPT) errors.push({ line, column, expected, text: text.length > 200 ? `${text.slice(0, 197)}...` : text });
  };
  const onFinding = (f: IngestFinding) => {
    findingCount++;
    findingsByKind[f.kind] = (findingsByKind[f.kind] ?? 0) + 1;
    if (findings.length < FINDINGS_KEPT) findings.push(f);
  };
  let lastVm: { id: number; vm: ReturnType<typeof vmOf> } | undefined;
  const vmFor = (r: TraceRecord) => {
    const id = r.tgid ?? r.pid;
    if (lastVm?.id === id) return lastVm.vm; // a trace's lines come in runs of one task
    const vm = vmOf(r);
    lastVm = { id, vm };
    return vm;
  };
  const vmOf = (r: TraceRecord) => {
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
  /** A page-tracking record: to its VM's ingest. */
  const use = (r: TraceRecord, text: () => string) => {
    records++;
    if (!PAGE_TRACKING_EVENTS.has(r.event)) {
      skipped[r.event] = (skipped[r.event] ?? 0) + 1;
      return;
    }
    const v = vmFor(r);
    if (!v) return;
    v.ingest.decodeError = undefined;
    if (v.ingest.see(r)) used[r.event] = (used[r.event] ?? 0) + 1;
    else if (v.ingest.decodeError) {
      const t = text();
      error(r.line, t.indexOf(r.payload) + 1, v.ingest.decodeError, t);
    } else skipped[r.event] = (skipped[r.event] ?? 0) + 1;
  };
  /** A kvm_emulate_insn line the feed decoded: to its VM's ingest, without decoding it again. */
  const emulated = (r: TraceRecord, failed: boolean, width: number) => {
    records++;
    const v = vmFor(r);
    if (!v) return;
    v.ingest.emulated(r, failed, width);
    used[r.event] = (used[r.event] ?? 0) + 1;
  };
  /** A line the feed did not take apart: parsed here, by the format's full grammar. */
  const handle = (text: string, line: number) => {
    const p = format!.parse(text, line);
    if (p.kind === 'skip') return;
    if (p.kind === 'error') {
      if ([...PAGE_TRACKING_EVENTS].some((e) => text.includes(`${e}:`))) error(line, p.column, p.expected, text);
      else skipped['(unrecognised line)'] = (skipped['(unrecognised line)'] ?? 0) + 1;
      return;
    }
    use(p.record, () => text);
  };

  let task = '';
  const source = feed(o.input, o.format, o.scan ?? true);
  try {
    for await (const b of source.batches) {
      if (!format) {
        formatName = b.format;
        format = FORMATS[formatName];
      }
      compression = b.compression;
      lines += b.lines;
      for (const [name, n] of b.others) {
        others.set(name, (others.get(name) ?? 0) + n);
        records += n;
      }
      const { ints, nums } = b;
      const text = new BatchText(b);
      for (let i = 0; i < b.entries; i++) {
        const at = i * STRIDE;
        const kind = ints[at]!;
        const line = nums[i * 2]!;
        if ((kind === EntryKind.Walk || kind === EntryKind.Element) && lastVm !== undefined && lastVm.id === ints[at + 8]) {
          // Decoded by the feed, for the VM of the lines before: straight to its walk state.
          records++;
          const v = lastVm.vm;
          if (v === undefined) continue;
          v.ingest.walkLine(kind === EntryKind.Walk, ints[at + 8]!, ints[at + 11]! >>> 0, ints[at + 12]! >>> 0, ints[at + 13]!, line, text, ints[at + 5]!, ints[at + 6]!);
          const event = EVENT_CODES[ints[at + 10]!]!;
          used[event] = (used[event] ?? 0) + 1;
        } else if (kind === EntryKind.Scanned || kind === EntryKind.Walk || kind === EntryKind.Element || kind === EntryKind.Emulate) {
          // The task repeats from line to line: compared in place, sliced only when it changes.
          const t0 = ints[at + 3]!;
          const t1 = ints[at + 4]!;
          if (!text.holds(t0, t1, task)) task = text.slice(t0, t1);
          const start = ints[at + 1]!;
          const end = ints[at + 2]!;
          const r: TraceRecord = { line, task, pid: ints[at + 8]!, cpu: ints[at + 9]!, ts: text.slice(ints[at + 5]!, ints[at + 6]!), event: EVENT_CODES[ints[at + 10]!]!, payload: text.slice(ints[at + 7]!, end) };
          if (kind === EntryKind.Emulate) emulated(r, ints[at + 11] === 1, ints[at + 12]!);
          else use(r, () => text.slice(start, end));
        } else if (kind === EntryKind.Text) handle(text.slice(ints[at + 1]!, ints[at + 2]!), line);
        else if (kind === EntryKind.Head) handle(b.head!, line);
        else error(line, 1, tooLongReason(nums[i * 2 + 1]!), '');
      }
      o.onProgress?.({ bytes: b.read, totalBytes: b.totalBytes, events: lines });
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
    skipped: mergeCounts(skipped, others),
    errorCount,
    errors,
    vms: [...vms].map(([vm, v]) => ({ vm, task: v.task, log: v.log, commands: v.ingest.vm.commandCount, events: v.ingest.vm.eventCount, ...pick(v.ingest.stats) })),
    findingCount,
    findingsByKind: { ...findingsByKind },
    findings,
    seconds: (performance.now() - started) / 1000,
    feedThread: source.threaded,
  };
}

/** Counts by name from both lanes, summed, in name order. */
function mergeCounts(a: Readonly<Record<string, number>>, b: ReadonlyMap<string, number>): Record<string, number> {
  const all = new Map(Object.entries(a));
  for (const [k, n] of b) all.set(k, (all.get(k) ?? 0) + n);
  return Object.fromEntries([...all].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function pick(s: VmIngest['stats']) {
  return { inferredSlots: s.inferredSlots, adoptedPages: s.adoptedPages, writes: s.writes, writesWithoutAddress: s.writesWithoutAddress };
}
