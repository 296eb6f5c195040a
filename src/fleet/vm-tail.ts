/**
 * Where a VM's log ends in the stream: its last message, read from the stream leader (never a
 * possibly stale replica), and the last line in it. A stream holds whatever anyone published
 * under its subjects, so the message is checked before anything is believed.
 */
import type { Fleet } from './stream.js';
import { hashLine } from '../log/format.js';
import { logSubject, type VmId, vmName } from './subjects.js';
import { LogError } from '../log/format.js';

export interface VmTail {
  /** The message's stream sequence: what the next publish expects as the subject's last. */
  readonly streamSeq: number;
  /** The event seq of its last line (0 when that is the header). */
  readonly eventSeq: number;
  /** The hash of its last line: the next event's prev. */
  readonly hash: string;
  /** When the server stored it. */
  readonly time: Date;
}

/** The last message of `vm`'s subject, or undefined when nothing was published for it. */
export async function vmTail(f: Fleet, vm: VmId): Promise<VmTail | undefined> {
  const m = await f.jsm.streams.getMessage(f.stream, { last_by_subj: logSubject(vm) });
  if (!m) return undefined;
  const where = `nats ${vmName(vm)} (stream ${f.stream} message ${m.seq})`;
  const body = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  if (body.length === 0 || body[body.length - 1] !== 10) throw new LogError(where, 0, 'a message must hold whole lines, each ended by "\\n"');
  const start = body.lastIndexOf(10, body.length - 2) + 1;
  const line = body.subarray(start, body.length - 1);
  const hash = hashLine(line);
  if (line[0] === 123 /* { */) return { streamSeq: m.seq, eventSeq: 0, hash, time: m.time };
  // ["<43-character prev>",seq,...: the seq is all this needs; the audit validates the rest.
  const text = line.subarray(0, 80).toString('latin1');
  const match = /^\["[A-Za-z0-9_-]{43}",([1-9][0-9]{0,15}),/.exec(text);
  if (!match || !Number.isSafeInteger(Number(match[1]))) throw new LogError(where, 0, `its last line is not a pagetrack log line: ${JSON.stringify(text.slice(0, 60))}`);
  return { streamSeq: m.seq, eventSeq: Number(match[1]), hash, time: m.time };
}
