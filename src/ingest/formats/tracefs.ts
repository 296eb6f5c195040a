/**
 * tracefs text (`trace` and `trace_pipe`): `TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD`.
 * The task name may hold spaces and dashes ("CPU 0/KVM-4145"): the pid is the last "-digits"
 * before the CPU column. FLAGS is absent before ~4.x latency output, 4 characters in 4.x and 5 from
 * 5.x (migrate-disable); the TGID column appears with options/record-tgid. Payloads are the
 * kernel's own TP_printk output. Header lines start with "#".
 */
import { asciiBytes } from '../ascii.js';
import type { ParsedLine, TraceFormat } from '../record.js';

// task-pid, optional (tgid), [cpu], optional flags, timestamp, event, payload
const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([.a-zA-Z0-9]{4,6})\s+)?(\d+\.\d+):\s+([A-Za-z_][\w]*):\s?(.*)$/;

export function parseTracefsLine(text: string, line: number): ParsedLine {
  if (text.length === 0 || text.charCodeAt(0) === 35 /* # */) return { kind: 'skip' };
  const fast = fastParse(text, line);
  if (fast) return fast;
  const m = LINE.exec(text);
  if (!m) return { kind: 'error', ...whereItStops(text) };
  return {
    kind: 'record',
    record: {
      line,
      task: m[1]!,
      pid: Number(m[2]),
      ...(m[3] !== undefined && /^\d+$/.test(m[3]) ? { tgid: Number(m[3]) } : {}),
      cpu: Number(m[4]),
      ts: m[6]!,
      event: m[7]!,
      payload: m[8]!,
    },
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Where the fields of a line are (offsets into it), as scanTracefsHeader finds them. */
export interface HeaderScan {
  taskStart: number;
  taskEnd: number;
  pid: number;
  cpu: number;
  tsStart: number;
  tsEnd: number;
  eventStart: number;
  eventEnd: number;
  payloadStart: number;
}

/**
 * The common shape without a regex or a string (the ingest hot path, run by the feed on a
 * chunk's bytes): `TASK-PID [CPU] FLAGS TS: EVENT: PAYLOAD` with no TGID column, in the ASCII
 * bytes b[start, end). Fills `out` with positions in `b` and returns true, or returns false to
 * send the line to the full grammar (which also words errors).
 */
export function scanTracefsHeader(b: Uint8Array, out: HeaderScan, start: number, end: number): boolean {
  let open = start;
  while (open < end - 1 && !(b[open] === 32 && b[open + 1] === 91)) open++; // " ["
  if (open >= end - 1) return false;
  let close = open + 2;
  let cpu = 0;
  for (; close < end && isDigit(b[close]!); close++) cpu = cpu * 10 + b[close]! - 48;
  if (close >= end || b[close] !== 93 || close === open + 2 || close - open > 8) return false;
  // task-pid before " [": trailing spaces, then digits, then '-'
  let e = open;
  while (e > start && b[e - 1] === 32) e--;
  let d = e;
  while (d > start && isDigit(b[d - 1]!)) d--;
  if (d === e || e - d > 9 || d === start || b[d - 1] !== 45 /* - */ || (d - 2 >= start && b[d - 2] === 41) /* ) of a TGID column */) return false;
  let t0 = start;
  while (t0 < d - 1 && b[t0] === 32) t0++;
  let pid = 0;
  for (let i = d; i < e; i++) pid = pid * 10 + b[i]! - 48;
  // flags (optional) and timestamp: "  .....  1404.389384: "
  let colon = close;
  while (colon < end - 1 && !(b[colon] === 58 && b[colon + 1] === 32)) colon++;
  if (colon >= end - 1) return false;
  let ts = colon;
  let dot = -1;
  for (let c = b[ts - 1]!; ts > close && (isDigit(c) || c === 46); c = b[--ts - 1]!) if (c === 46) dot = dot === -1 ? ts - 1 : -2;
  if (dot < 0 || dot === ts || dot === colon - 1 || b[ts - 1] !== 32) return false;
  let a = close + 1;
  while (a < ts && b[a] === 32) a++;
  let z = ts;
  while (z > a && b[z - 1] === 32) z--;
  if (z > a && (z - a < 4 || z - a > 6)) return false;
  for (let i = a; i < z; i++) if (!isFlag(b[i]!)) return false;
  let evEnd = colon + 2;
  if (evEnd >= end || isDigit(b[evEnd]!)) return false;
  while (evEnd < end && isWord(b[evEnd]!)) evEnd++;
  if (evEnd >= end || evEnd === colon + 2 || b[evEnd] !== 58) return false;
  out.taskStart = t0;
  out.taskEnd = d - 1;
  out.pid = pid;
  out.cpu = cpu;
  out.tsStart = ts;
  out.tsEnd = colon;
  out.eventStart = colon + 2;
  out.eventEnd = evEnd;
  out.payloadStart = evEnd + 1 < end && b[evEnd + 1] === 32 ? evEnd + 2 : evEnd + 1;
  return true;
}

export const newHeaderScan = (): HeaderScan => ({ taskStart: 0, taskEnd: 0, pid: 0, cpu: 0, tsStart: 0, tsEnd: 0, eventStart: 0, eventEnd: 0, payloadStart: 0 });
const scan = newHeaderScan();

function fastParse(text: string, line: number): ParsedLine | undefined {
  const bytes = asciiBytes(text);
  if (bytes === undefined || !scanTracefsHeader(bytes, scan, 0, bytes.length)) return undefined;
  const h = scan;
  return { kind: 'record', record: { line, task: text.slice(h.taskStart, h.taskEnd), pid: h.pid, cpu: h.cpu, ts: text.slice(h.tsStart, h.tsEnd), event: text.slice(h.eventStart, h.eventEnd), payload: text.slice(h.payloadStart) } };
}

/** [.a-zA-Z0-9]: a character of the flags column. */
const isFlag = (c: number) => c === 46 || isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** \w: a character of an event name. */
const isWord = (c: number) => c === 95 || isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Column and expectation for a line that is not `TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: ...`. */
export function whereItStops(text: string): { column: number; expected: string } {
  const cpu = text.indexOf('[');
  if (cpu < 0) return { column: 1, expected: 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: (no [CPU] column)' };
  if (!/-\d+\s+(\(\s*[\d-]+\)\s+)?$/.test(text.slice(0, cpu))) return { column: 1, expected: 'TASK-PID before the [CPU] column' };
  const close = text.indexOf(']', cpu);
  if (close < 0 || !/^\d+$/.test(text.slice(cpu + 1, close))) return { column: cpu + 2, expected: 'a CPU number in [...]' };
  const ts = /^\s+(?:[.a-zA-Z0-9]{4,6}\s+)?\d+\.\d+:/.exec(text.slice(close + 1));
  if (!ts) return { column: close + 2, expected: 'FLAGS (optional) and TIMESTAMP: (seconds.micros)' };
  return { column: close + 2 + ts[0].length, expected: ' EVENT: PAYLOAD' };
}

/** The event name after "] FLAGS TIMESTAMP: " (the first ": " after the CPU column). */
export function tracefsEventOf(text: string): string | undefined {
  const close = text.indexOf('] ');
  if (close < 0) return undefined;
  const colon = text.indexOf(': ', close);
  if (colon < 0) return undefined;
  const end = text.indexOf(':', colon + 2);
  return end < 0 ? undefined : text.slice(colon + 2, end);
}

export const TRACEFS: TraceFormat = { name: 'tracefs', payloads: 'kernel', parse: parseTracefsLine, eventOf: tracefsEventOf };
