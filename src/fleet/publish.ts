/**
 * `pagetrack publish LOG --nats URL --vm HOST/VM`: a log's lines, as the log holds them, into the
 * VM's subject. The log is read by the validating reader first (a line that fails `verify` is
 * never published); each message is a run of whole lines (the header alone in the first).
 *
 * Exactly once and in order, with no coordination but the stream's own:
 * - every publish expects the subject's last stream sequence to be the previous message's
 *   (`Nats-Expected-Last-Subject-Sequence`), so nothing lands out of order or after a gap, even
 *   when a node dies with publishes in flight;
 * - its message id (`HOST/VM/<last seq>/<hash of the last line>`) makes a retried publish whose
 *   first attempt did land a no-op within the duplicate window;
 * - a publisher that starts (or loses the race to another) reads the subject's last message and
 *   goes on after it, once the hash of that line matches the local log's line there.
 * One message in flight per VM is the price of the first rule; runs of lines keep it cheap.
 */
import { type FileHandle } from 'node:fs/promises';
import { headers } from '@nats-io/transport-node';
import { isWrongLast, retrying } from './retry.js';
import { UsageError } from '../cli/errors.js';
import { openInput } from '../io/input-file.js';
import { hashLine } from '../log/format.js';
import { type ByteSource, LogReader, type ReadSummary } from '../log/reader.js';
import { type Fleet, connectFleet, ensureLogStream } from './stream.js';
import { logSubject, type VmId, vmName } from './subjects.js';
import { vmTail } from './vm-tail.js';

/** A message holds lines up to this many bytes (one longer line goes alone): measured faster to audit than 64 KiB, well under the 1 MiB max_payload. */
export { DEFAULT_MESSAGE_BYTES } from './defaults.js';
import { DEFAULT_MESSAGE_BYTES } from './defaults.js';

export interface PublishOptions {
  readonly url: string;
  readonly stream?: string | undefined;
  readonly vm: VmId;
  readonly log: string;
  /** Keep publishing what is appended to the log until `signal` aborts. */
  readonly follow?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly replicas?: number | undefined;
  /** Bytes of lines per message (default 64 KiB); 1 gives one line per message. */
  readonly messageBytes?: number | undefined;
  /** Give up after the cluster has refused or ignored one message this long (default 120 s). */
  readonly retryForMs?: number | undefined;
  readonly onProgress?: ((p: PublishProgress) => void) | undefined;
}

export interface PublishProgress {
  readonly events: number;
  readonly published: number;
  readonly messages: number;
}

export interface PublishResult {
  readonly vm: string;
  /** Events this run put into the stream. */
  readonly published: number;
  /** Events the stream already held (a resumed or repeated publish). */
  readonly skipped: number;
  readonly messages: number;
  /** Publishes answered as duplicates (a retry whose first attempt landed). */
  readonly duplicates: number;
  /** The stream's last event for the VM and the hash of its line. */
  readonly lastSeq: number;
  readonly headHash: string;
  readonly truncated?: ReadSummary['truncated'];
}

/** A file read to its end and then, while following, waited on for more (tail -f). */
function followingSource(fh: FileHandle, follow: boolean, signal: AbortSignal | undefined): ByteSource {
  return {
    async read(buffer, offset, length, position) {
      for (;;) {
        const r = await fh.read(buffer, offset, length, position);
        if (r.bytesRead > 0 || !follow || signal?.aborted) return r;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 100);
          function done(): void {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
          }
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
    close: () => fh.close(),
  };
}

interface Line {
  readonly seq: number;
  readonly bytes: Buffer;
}

export class Publisher {
  /** The stream's last event for this VM, as far as this publisher knows (-1: not even the header). */
  private lastSeq = -1;
  private lastStreamSeq = 0;
  private headHash = '';
  /** The local line at this seq must hash to this (what the stream holds there). */
  private verify: { seq: number; hash: string; streamSeq: number } | undefined;
  private published = 0;
  private skipped = 0;
  private messages = 0;
  private duplicates = 0;
  private readonly subject: string;
  private readonly name: string;

  constructor(
    private readonly f: Fleet,
    private readonly o: PublishOptions,
  ) {
    this.subject = logSubject(o.vm);
    this.name = vmName(o.vm);
  }

  async run(): Promise<PublishResult> {
    await this.resync();
    const { fh } = await openInput(this.o.log, 'log');
    const raw = await openInput(this.o.log, 'log');
    const reader = new LogReader(this.o.log, { source: followingSource(fh, this.o.follow === true, this.o.signal) });
    const limit = this.o.messageBytes ?? DEFAULT_MESSAGE_BYTES;
    let from = 0; // the file offset of the next line not yet looked at (validated lines end at reader.at.bytes)
    let seq = -1; // the seq of the line before it (the header is 0)
    try {
      for await (const batch of reader.batches()) {
        void batch;
        const to = reader.at.bytes;
        const chunk = Buffer.allocUnsafe(to - from);
        for (let off = 0; off < chunk.length; ) {
          const { bytesRead } = await raw.fh.read(chunk, off, chunk.length - off, from + off);
          if (bytesRead === 0) throw new UsageError(`log ${this.o.log}: it shrank while being published`);
          off += bytesRead;
        }
        from = to;
        let run: Line[] = [];
        let runBytes = 0;
        for (let p = 0; p < chunk.length; ) {
          const q = chunk.indexOf(10, p);
          const line = chunk.subarray(p, q + 1); // with its "\n"
          p = q + 1;
          seq++;
          if (seq <= this.lastSeq) {
            this.check(seq, line);
            this.skipped += seq > 0 ? 1 : 0;
            continue;
          }
          this.check(seq, line);
          // The header goes alone: the first message of a subject is the header line.
          if (run.length > 0 && (runBytes + line.length > limit || seq === 1)) {
            await this.send(run);
            run = [];
            runBytes = 0;
          }
          run.push({ seq, bytes: line });
          runBytes += line.length;
          if (seq === 0) {
            await this.send(run);
            run = [];
            runBytes = 0;
          }
        }
        if (run.length > 0) await this.send(run);
        this.o.onProgress?.({ events: Math.max(0, seq), published: this.published, messages: this.messages });
      }
    } finally {
      await raw.fh.close();
    }
    const summary = reader.summary!;
    if (this.verify) {
      throw new UsageError(`the stream holds ${this.verify.seq} events for ${this.name}, ${this.o.log} only ${summary.events}: it is not the log published there (or an older copy of it)`);
    }
    return {
      vm: this.name,
      published: this.published,
      skipped: this.skipped,
      messages: this.messages,
      duplicates: this.duplicates,
      lastSeq: this.lastSeq,
      headHash: this.headHash,
      ...(summary.truncated ? { truncated: summary.truncated } : {}),
    };
  }

  /** The local line at `seq` against what the stream holds there, when that is known. */
  private check(seq: number, line: Buffer): void {
    const v = this.verify;
    if (!v || v.seq !== seq) return;
    const h = hashLine(line.subarray(0, line.length - 1));
    if (h !== v.hash) {
      throw new UsageError(`the stream holds a different log for ${this.name}: ${seq === 0 ? 'its header' : `its event ${seq}`} (stream ${this.f.stream} message ${v.streamSeq}) is not line ${seq + 1} of ${this.o.log}`);
    }
    this.verify = undefined;
  }

  /** Learns where the stream's copy of this VM's log ends, and what the local log must match there. */
  private async resync(): Promise<void> {
    const t = await retrying(`publish ${this.name}: read the last message`, this.o.retryForMs ?? 120_000, () => vmTail(this.f, this.o.vm));
    if ((t?.eventSeq ?? -1) < this.lastSeq) {
      // Acknowledged events are gone (the stream was deleted or re-created meanwhile): never publish after a gap.
      throw new UsageError(`stream ${this.f.stream} holds ${t ? `events up to ${t.eventSeq}` : 'nothing'} for ${this.name}, though it acknowledged events up to ${this.lastSeq}: was it deleted or re-created? Publish again to resume after what it holds`);
    }
    if (!t) return;
    // Another publisher (or a first attempt of ours whose acknowledgement was lost) may have got further: go on after it.
    if (t.eventSeq > this.lastSeq) this.verify = { seq: t.eventSeq, hash: t.hash, streamSeq: t.streamSeq };
    this.lastSeq = t.eventSeq;
    this.lastStreamSeq = t.streamSeq;
    this.headHash = t.hash;
  }

  private async send(run: Line[]): Promise<void> {
    for (;;) {
      const first = run[0]!;
      const last = run.at(-1)!;
      if (last.seq <= this.lastSeq) {
        // The stream got these from someone else meanwhile: check the one it ends with, skip the rest.
        for (const l of run) this.check(l.seq, l.bytes);
        this.skipped += run.filter((l) => l.seq > 0).length;
        return;
      }
      if (first.seq <= this.lastSeq) {
        for (const l of run) if (l.seq <= this.lastSeq) this.check(l.seq, l.bytes);
        this.skipped += run.filter((l) => l.seq > 0 && l.seq <= this.lastSeq).length;
        run = run.filter((l) => l.seq > this.lastSeq);
        continue;
      }
      if (first.seq !== this.lastSeq + 1) throw new Error(`publisher out of step: line seq ${first.seq} after ${this.lastSeq}`);
      const body = run.length === 1 ? first.bytes : Buffer.concat(run.map((l) => l.bytes));
      const hash = hashLine(last.bytes.subarray(0, last.bytes.length - 1));
      const msgID = `${this.name}/${last.seq}/${hash}`;
      const h = headers();
      h.set('Pagetrack-Events', `${first.seq}-${last.seq}`);
      try {
        const ack = await retrying(`publish ${this.name}`, this.o.retryForMs ?? 120_000, () => this.f.js.publish(this.subject, body, { msgID, headers: h, expect: { lastSubjectSequence: this.lastStreamSeq } }));
        if (ack.duplicate) this.duplicates++;
        this.lastStreamSeq = ack.seq;
        this.lastSeq = last.seq;
        this.headHash = hash;
        this.messages++;
        this.published += run.filter((l) => l.seq > 0).length;
        return;
      } catch (err) {
        if (!isWrongLast(err)) throw err;
        await this.resync(); // the subject moved on: from another publisher, or our own first attempt after the duplicate window
      }
    }
  }
}

/** Publishes one log (see the module comment); creates the stream when it is missing. */
export async function publishLog(o: PublishOptions): Promise<PublishResult> {
  // A short ack timeout: a publish lost with a dying leader is retried (same message id) soon after the election.
  const f = await connectFleet({ url: o.url, stream: o.stream, name: `pagetrack publish ${vmName(o.vm)}`, timeoutMs: 2000 });
  try {
    await retrying('publish: find or create the stream', o.retryForMs ?? 120_000, () => ensureLogStream(f, { create: true, replicas: o.replicas }));
    return await new Publisher(f, o).run();
  } finally {
    await f.close();
  }
}
