/**
 * Points in a log, written the same way everywhere (README, "Positions"):
 *   e<N>   after event N (e0: before the first event)
 *   c<K>   after the last event of command K (c0: after VM creation)
 *   t<S>   after the last command whose trace timestamp is at or before S seconds (ingested logs)
 *   start  = e0;  end = after the last event
 */
export type Position =
  | { readonly kind: 'event'; readonly n: number }
  | { readonly kind: 'command'; readonly n: number }
  | { readonly kind: 'end' }
  /** t<SECONDS>: after the last command an ingested trace timestamped at or before SECONDS. */
  | { readonly kind: 'time'; readonly t: number; readonly text: string };

/** A point of a log as every JSON output names it: after event `event`, of command `command` (README, "JSON output"). */
export interface LogPoint {
  readonly event: number;
  readonly command: number;
}

export class PositionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PositionError';
  }
}

export function parsePosition(text: string): Position {
  const t = text.trim();
  if (t === 'start') return { kind: 'event', n: 0 };
  if (t === 'end') return { kind: 'end' };
  const time = /^t(\d{1,12}(?:\.\d{1,12})?)$/.exec(t);
  if (time) return { kind: 'time', t: Number(time[1]), text: time[1]! };
  const m = /^([ec])(\d+)$/.exec(t);
  if (!m || !Number.isSafeInteger(Number(m[2]))) {
    throw new PositionError(`'${text}' is not a position: write e<N> (after event N), c<K> (after command K), t<SECONDS> (a trace timestamp), start or end`);
  }
  return { kind: m[1] === 'e' ? 'event' : 'command', n: Number(m[2]) };
}

export function formatPosition(p: Position): string {
  if (p.kind === 'time') return `t${p.text}`;
  return p.kind === 'end' ? 'end' : `${p.kind === 'event' ? 'e' : 'c'}${p.n}`;
}
