/**
 * Points in a log, written the same way everywhere (README, "Positions"):
 *   e<N>   after event N (e0: before the first event)
 *   c<K>   after the last event of command K (c0: after VM creation)
 *   start  = e0;  end = after the last event
 */
export type Position = { readonly kind: 'event'; readonly n: number } | { readonly kind: 'command'; readonly n: number } | { readonly kind: 'end' };

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
  const m = /^([ec])(\d+)$/.exec(t);
  if (!m || !Number.isSafeInteger(Number(m[2]))) {
    throw new PositionError(`'${text}' is not a position: write e<N> (after event N), c<K> (after command K), start or end`);
  }
  return { kind: m[1] === 'e' ? 'event' : 'command', n: Number(m[2]) };
}

export function formatPosition(p: Position): string {
  return p.kind === 'end' ? 'end' : `${p.kind === 'event' ? 'e' : 'c'}${p.n}`;
}
