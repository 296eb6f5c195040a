/**
 * A VM's log read back from its subject with the same parsing, validation and chain checks as
 * a file (LogReader over a ByteSource): the message bodies, in stream order, are the log's
 * bytes. A message must hold whole lines; a forged, reordered, repeated or missing message breaks
 * the chain or the sequence exactly as an edited file does, and the error names the line of the
 * VM's log and the stream message that holds it.
 */
import { type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { PageTrackEvent } from '../events/types.js';
import { LogError, type LogHeader } from '../log/format.js';
import { type ByteSource, LogReader, type ReadSummary } from '../log/reader.js';
import type { Fleet } from './stream.js';
import { retrying } from './retry.js';
import { logSubject, type VmId, vmName } from './subjects.js';

/** A read that waits this long for a message known to exist starts a new consumer after the last one read. */
const STALL_MS = 3000;
/** How many messages' first lines are remembered, to name the message of a bad line. */
const RING = 1 << 16;

class SubjectSource implements ByteSource {
  private messages: ConsumerMessages | undefined;
  private it: AsyncIterator<JsMsg> | undefined;
  private pending: Buffer | undefined;
  private done: boolean;
  /** The line the next message starts at (the header is line 1). */
  private nextLine = 1;
  private readonly ringLine = new Float64Array(RING);
  private readonly ringSeq = new Float64Array(RING);
  private count = 0;
  lastStreamSeq = 0;
  badMessage: { seq: number; reason: string } | undefined;

  constructor(
    private readonly f: Fleet,
    private readonly subject: string,
    private readonly until: number,
    private readonly tee?: (body: Uint8Array) => void,
  ) {
    this.done = until === 0;
  }

  /** A consumer reading the subject from `from` on (ordered: the client replaces it when it notices a gap). */
  private async open(from: number): Promise<void> {
    await this.messages?.stop();
    this.messages = await retrying(`read ${this.subject}`, 120_000, async () => {
      const c = await this.f.js.consumers.get(this.f.stream, { filter_subjects: this.subject, ...(from > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : {}) });
      return c.consume({ max_messages: 64, expires: 4000 });
    });
    this.it = this.messages[Symbol.asyncIterator]();
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    if (!this.it) await this.open(1);
    let r: IteratorResult<JsMsg>;
    for (;;) {
      // Messages up to `until` exist: a consumer that goes quiet for STALL_MS lived on a node that
      // died (an ephemeral consumer has one replica); a new one goes on after the last message read.
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), STALL_MS)));
      const got = await Promise.race([this.it!.next(), stalled]);
      clearTimeout(timer);
      if (got === 'stalled' || got.done) {
        await this.open(this.lastStreamSeq + 1);
        continue;
      }
      if (got.value.seq <= this.lastStreamSeq) continue; // delivered again by a replacement consumer
      r = got;
      break;
    }
    const m = r.value;
    if (m.seq >= this.until) this.done = true;
    if (m.seq > this.until) return undefined; // published after this read began: the next read's
    this.lastStreamSeq = m.seq;
    const body = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const k = this.count++ % RING;
    this.ringLine[k] = this.nextLine;
    this.ringSeq[k] = m.seq;
    let lines = 0;
    for (let p = body.indexOf(10); p >= 0; p = body.indexOf(10, p + 1)) lines++;
    this.nextLine += lines;
    if (body.length === 0 || body[body.length - 1] !== 10) {
      // A message is whole lines: a cut one would glue itself to the next message's first line.
      this.badMessage = { seq: m.seq, reason: body.length === 0 ? 'an empty message' : 'a message that does not end with "\\n" (a message holds whole lines)' };
      this.done = true;
    }
    this.tee?.(body);
    return body;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number }> {
    let n = 0;
    while (n < length) {
      if (!this.pending || this.pending.length === 0) {
        // Give the reader what is there once the consumer would make it wait.
        if (n > 0 && this.messages && (this.messages.getPending?.() ?? 1) === 0) break;
        this.pending = await this.next();
        if (!this.pending) break;
      }
      const take = Math.min(length - n, this.pending.length);
      this.pending.copy(buffer, offset + n, 0, take);
      this.pending = this.pending.subarray(take);
      n += take;
    }
    return { bytesRead: n };
  }

  /** The stream sequence of the message holding `line`, when it is still remembered. */
  messageOf(line: number): number | undefined {
    for (let i = this.count - 1; i >= Math.max(0, this.count - RING); i--) {
      const k = i % RING;
      if (this.ringLine[k]! <= line) return this.ringSeq[k];
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.done = true;
    this.messages?.stop();
  }
}

export interface VmReadOptions {
  /** Read up to (and including) this stream sequence: the VM's last message when the read began. */
  readonly until: number;
  /** Sees every message body as it arrives (before it is validated): materialising a local copy. */
  readonly tee?: (body: Uint8Array) => void;
  readonly hashWorker?: boolean;
}

/** Reads one VM's log from the stream; iterate `batches()` once, like LogReader's. */
export class VmLogReader {
  readonly label: string;
  private reader: LogReader | undefined;
  private source: SubjectSource | undefined;

  constructor(
    private readonly f: Fleet,
    readonly vm: VmId,
    private readonly o: VmReadOptions,
  ) {
    this.label = `nats ${vmName(vm)}`;
  }

  get header(): LogHeader | undefined {
    return this.reader?.header;
  }

  get summary(): ReadSummary | undefined {
    return this.reader?.summary;
  }

  /** The stream sequence of the last message read. */
  get lastStreamSeq(): number {
    return this.source?.lastStreamSeq ?? 0;
  }

  async *batches(): AsyncGenerator<PageTrackEvent[]> {
    const source = (this.source = new SubjectSource(this.f, logSubject(this.vm), this.o.until, this.o.tee));
    const reader = (this.reader = new LogReader(this.label, { source, ...(this.o.hashWorker !== undefined ? { hashWorker: this.o.hashWorker } : {}) }));
    try {
      yield* reader.batches();
    } catch (err) {
      if (!(err instanceof LogError)) throw err;
      const seq = source.messageOf(err.line);
      throw new LogError(this.label, err.line, `${err.reason}${seq !== undefined ? ` (stream ${this.f.stream} message ${seq})` : ''}`, err.field);
    }
    const bad = source.badMessage;
    if (bad) throw new LogError(this.label, reader.summary!.events + 2, `stream ${this.f.stream} message ${bad.seq} is ${bad.reason}`);
    if (this.o.until > 0 && source.lastStreamSeq !== this.o.until) throw new LogError(this.label, reader.summary!.events + 2, `the read ended at stream message ${source.lastStreamSeq}, before message ${this.o.until}`);
  }
}
