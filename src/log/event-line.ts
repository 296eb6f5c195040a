/**
 * One event line's bytes to an event, as every reader of a log takes it: the byte parser for
 * what the writer writes, JSON.parse (after the prefix and nesting checks) for anything else,
 * then decoding and upcasting. The streaming reader and the postings reader (a gfn's lines only,
 * src/timetravel/posted-lines.ts) share it, so a line means the same to both.
 */
import type { PageTrackEvent } from '../events/types.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import { tooLongReason } from '../io/lines.js';
import { tooDeepAt, tooDeepReason } from '../io/nesting.js';
import { decodeEvent } from './codec.js';
import { HASH_LENGTH, PREV_END, PREV_PREFIX } from './format.js';
import { LineParser } from './line-parser.js';
import { type UpcasterRegistry, upcast } from './upcast.js';
import type { Invalid } from './validate.js';

export class EventLineDecoder {
  private readonly parser = new LineParser();
  /** Where the line `decode` last read ends: the index of its "\n". */
  end = 0;

  constructor(private readonly upcasters: UpcasterRegistry) {}

  /** The event on the line starting at `p` (`b` holds its "\n"), or why it is not one. */
  decode(b: Buffer, p: number): PageTrackEvent | Invalid {
    let arr: unknown = this.parser.parse(b, p);
    if (arr !== undefined) this.end = this.parser.end;
    else {
      const q = b.indexOf(10, p);
      this.end = q;
      if (q - p > MAX_LINE_BYTES) return { reason: tooLongReason(q - p) };
      const line = b.toString('utf8', p, q);
      if (line.length < PREV_END + 3 || !line.startsWith(PREV_PREFIX) || line.charCodeAt(PREV_END) !== 34 || line.charCodeAt(PREV_END + 1) !== 44) {
        return line.length === 0 ? { reason: 'empty line' } : { field: 'prev', reason: `an event line must start with ["<${HASH_LENGTH}-character hash>",` };
      }
      const deep = tooDeepAt(line);
      if (deep >= 0) return { reason: tooDeepReason(deep) };
      try {
        arr = JSON.parse(line); // [prev, seq, cmd, type, v, ...fields]; the chain checker reads prev
      } catch (err) {
        return { reason: `malformed JSON (${(err as Error).message})` };
      }
    }
    const decoded = Array.isArray(arr) ? decodeEvent(arr, this.upcasters) : { reason: 'an event line must be a JSON array' };
    if (isInvalid(decoded)) return decoded;
    return upcast(decoded, this.upcasters) as unknown as PageTrackEvent | Invalid;
  }
}

export function isInvalid(x: object): x is Invalid {
  return !('type' in x) && typeof (x as Invalid).reason === 'string';
}
