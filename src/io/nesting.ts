import { MAX_NESTING } from './limits.js';

/**
 * The first position where `text` nests JSON arrays or objects deeper than `limit`, or -1.
 * Checked before parsing, so no recursive step (zod, JSON.stringify, a validator) ever sees a
 * value deep enough to overflow the stack. Brackets inside strings do not count.
 */
export function tooDeepAt(text: string, limit = MAX_NESTING): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > limit) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

/** The message for a line nested too deeply. */
export function tooDeepReason(at: number, limit = MAX_NESTING): string {
  return `nested deeper than ${limit} levels (at column ${at + 1}): no pagetrack line nests that deep`;
}
