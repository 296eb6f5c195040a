/**
 * tracefs text (`trace` and `trace_pipe`): `TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD`.
 * The task name may hold spaces and dashes ("CPU 0/KVM-4145"): the pid is the last "-digits"
 * before the CPU column. FLAGS is absent before ~4.x latency output, 4 characters in 4.x and 5 from
 * 5.x (migrate-disable); the TGID column appears with options/record-tgid. Payloads are the
 * kernel's own TP_printk output. Header lines start with "#".
 */
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

/**
 * The common shape without a regex (the ingest hot path): `TASK-PID [CPU] FLAGS TS: EVENT: PAYLOAD`
 * with no TGID column. Undefined sends the line to the full grammar (which also words errors).
 */
function fastParse(text: string, line: number): ParsedLine | undefined {
  const open = text.indexOf(' [');
  if (open < 0) return undefined;
  const close = text.indexOf(']', open + 2);
  if (close < 0 || close - open > 8) return undefined;
  let cpu = 0;
  for (let i = open + 2; i < close; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    cpu = cpu * 10 + c - 48;
  }
  // task-pid before " [": trailing spaces, then digits, then '-'
  let e = open;
  while (e > 0 && text.charCodeAt(e - 1) === 32) e--;
  let d = e;
  while (d > 0 && isDigit(text.charCodeAt(d - 1))) d--;
  if (d === e || d === 0 || text.charCodeAt(d - 1) !== 45 /* - */ || text.charCodeAt(d - 2) === 41 /* ) of a TGID column */) return undefined;
  let t0 = 0;
  while (t0 < d - 1 && text.charCodeAt(t0) === 32) t0++;
  // flags (optional) and timestamp: "  .....  1404.389384: "
  const colon = text.indexOf(': ', close);
  if (colon < 0) return undefined;
  let ts = colon;
  while (ts > close && (isDigit(text.charCodeAt(ts - 1)) || text.charCodeAt(ts - 1) === 46)) ts--;
  const tsText = text.slice(ts, colon);
  const dot = tsText.indexOf('.');
  if (dot <= 0 || dot === tsText.length - 1 || text.charCodeAt(ts - 1) !== 32) return undefined;
  const between = text.slice(close + 1, ts).trim();
  if (between.length !== 0 && !/^[.a-zA-Z0-9]{4,6}$/.test(between)) return undefined;
  const evEnd = text.indexOf(':', colon + 2);
  if (evEnd < 0) return undefined;
  const event = text.slice(colon + 2, evEnd);
  if (!/^[A-Za-z_]\w*$/.test(event)) return undefined;
  const payloadStart = text.charCodeAt(evEnd + 1) === 32 ? evEnd + 2 : evEnd + 1;
  return { kind: 'record', record: { line, task: text.slice(t0, d - 1), pid: Number(text.slice(d, e)), cpu, ts: tsText, event, payload: text.slice(payloadStart) } };
}

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
