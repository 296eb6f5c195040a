/**
 * One set of limits for everything pagetrack reads from outside (scripts, logs, indexes) and
 * therefore for everything it writes: what `run` accepts, its readers accept too.
 */

/** A line of a script or a log. Event lines are far shorter (names and texts are capped below). */
export const MAX_LINE_BYTES = 1 << 20;

/** JSON nesting: a command line is an object holding at most an array (depth 2); an event line one more. */
export const MAX_NESTING = 16;

/** A user, node or profile name. */
export const MAX_NAME = 256;

/** A free text recorded in an event: a rejection's reason, field name or cut input line. */
export const MAX_TEXT = 1024;

/** A path recorded in an event (PATH_MAX on Linux). */
export const MAX_PATH = 4096;

/** Cuts `s` to at most `max` characters, marking the cut with "...". */
export function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
