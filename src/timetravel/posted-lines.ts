/**
 * Reads single lines of a log at offsets its index posted for a gfn (gfn-postings.ts), not the
 * windows around them. Each line is decoded and schema-checked as the streaming reader does
 * (event-line.ts), and must chain into the line after it: its hash is that line's `prev` (or,
 * for the last whole line, the log's head, which the index names). The index itself is bound to
 * the log by size, inode and change time (log-index.ts), so offsets from it land on lines.
 */
import type { FileHandle } from 'node:fs/promises';
import type { PageTrackEvent } from '../events/types.js';
import { openInput } from '../io/input-file.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import { EventLineDecoder, isInvalid } from '../log/event-line.js';
import { LogError, PREV_END, PREV_PREFIX, hashLine } from '../log/format.js';
import { UPCASTERS } from '../log/upcast.js';
import { EventValidator } from '../log/validate.js';

const READ_BYTES = 1 << 16;

export class PostedLines {
  private fh: FileHandle | undefined;
  private space = Buffer.alloc(0);
  /** What the last read filled of `space`. */
  private buf = Buffer.alloc(0);
  /** The log offset of buf[0]. */
  private bufAt = 0;
  private readonly decoder = new EventLineDecoder(UPCASTERS);
  private readonly validator = new EventValidator({ schema: true, history: false });

  constructor(
    private readonly log: string,
    /** Where the log's whole lines end, and the hash of the last of them. */
    private readonly wholeEnd: number,
    private readonly head: string,
  ) {}

  /** The event on the line at `offset`. */
  async at(offset: number): Promise<PageTrackEvent> {
    const where = `the line at byte ${offset} (posted by the index for this gfn)`;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.wholeEnd) throw new LogError(this.log, 0, `${where} lies outside the log's ${this.wholeEnd} bytes of whole lines; run the command with --rebuild-index`);
    let nl = this.lineEnd(offset);
    if (nl < 0) {
      await this.fill(offset);
      nl = this.lineEnd(offset);
      if (nl < 0) throw new LogError(this.log, 0, `${where} has no end within ${MAX_LINE_BYTES} bytes; run the command with --rebuild-index`);
    }
    const p = offset - this.bufAt;
    const e = this.decoder.decode(this.buf, p);
    const bad = isInvalid(e) ? e : this.validator.checkAlone(e);
    if (bad) throw new LogError(this.log, 0, `${where}: ${bad.field ? `field '${bad.field}': ` : ''}${bad.reason}`);
    // The line must chain into the next one (a line edited in place breaks the link).
    const hash = hashLine(this.buf.subarray(p, nl));
    const last = this.bufAt + nl + 1 === this.wholeEnd;
    const next = last ? this.head : this.buf.toString('latin1', nl + 1 + PREV_PREFIX.length, nl + 1 + PREV_END);
    if (hash !== next || (!last && this.buf.toString('latin1', nl + 1, nl + 1 + PREV_PREFIX.length) !== PREV_PREFIX)) {
      throw new LogError(this.log, 0, `${where} does not chain into the line after it (the log was changed in place); run the command with --rebuild-index`);
    }
    return e as PageTrackEvent;
  }

  /** Where the line at `offset` ends in the buffer, if the buffer holds it and the next line's prev (or it is the last line); else -1. */
  private lineEnd(offset: number): number {
    const p = offset - this.bufAt;
    if (p < 0 || p >= this.buf.length) return -1;
    const nl = this.buf.indexOf(10, p);
    if (nl < 0) return -1;
    return this.bufAt + nl + 1 === this.wholeEnd || nl + 1 + PREV_END + 2 <= this.buf.length ? nl : -1;
  }

  /** Reads from `offset` on: enough for the longest line and the next line's prev. */
  private async fill(offset: number): Promise<void> {
    this.fh ??= (await openInput(this.log, 'log')).fh;
    for (let size = READ_BYTES; ; size *= 4) {
      const want = Math.min(size, this.wholeEnd - offset + PREV_END + 2);
      // One buffer, grown when a line needs it: nothing decoded keeps a view of it.
      if (this.space.length < want) this.space = Buffer.allocUnsafeSlow(Math.max(want, READ_BYTES));
      const { bytesRead } = await this.fh.read(this.space, 0, want, offset);
      this.buf = this.space.subarray(0, bytesRead);
      this.bufAt = offset;
      if (this.lineEnd(offset) >= 0 || bytesRead < want || size > MAX_LINE_BYTES) return;
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
