/**
 * The on-disk log format (README, "The log file"): UTF-8 NDJSON, each line ended by "\n".
 * Line 1 is the header object; every later line is one event as a JSON array
 * `[prev, seq, cmd, type, v, ...fields]`, fields in their type's order (FIELD_ORDER), where
 * `prev` is the SHA-256 of the previous line's exact bytes (without its "\n"), unpadded base64url.
 */
import { hash } from 'node:crypto';
import { show } from '../domain/show.js';
import { MAX_NAME, clip } from '../io/limits.js';
import { tooDeepAt, tooDeepReason } from '../io/nesting.js';

export const LOG_FORMAT = 'pagetrack-log';
export const LOG_VERSION = 1;

export interface LogHeader {
  readonly format: typeof LOG_FORMAT;
  readonly version: number;
  /** The kernel profile the events were produced under. */
  readonly profile: string;
  /** ISO-8601 UTC creation time; SOURCE_DATE_EPOCH (seconds) overrides the clock. */
  readonly created: string;
}

/** Every event line starts with these 2 characters, then the 43-character hash, then `",`. */
export const PREV_PREFIX = '["';
export const HASH_LENGTH = 43;
export const PREV_END = PREV_PREFIX.length + HASH_LENGTH;

/** SHA-256 of a line's UTF-8 bytes, unpadded base64url (RFC 4648 §5). */
export function hashLine(line: string | Uint8Array): string {
  return hash('sha256', line, 'base64url');
}

/** Puts `prev` first in an event's JSON array text (`[seq,...]` becomes `["prev",seq,...]`). */
export function chainLine(prev: string, eventArrayJson: string): string {
  return `${PREV_PREFIX}${prev}",${eventArrayJson.slice(1)}`;
}

/** The creation time: SOURCE_DATE_EPOCH when set (reproducible logs), else now. */
export function creationTime(env: NodeJS.ProcessEnv = process.env, now = () => new Date()): string {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde === undefined || sde === '') return now().toISOString();
  if (!/^\d+$/.test(sde)) throw new Error(`SOURCE_DATE_EPOCH must be a whole number of seconds, got '${sde}'`);
  return new Date(Number(sde) * 1000).toISOString();
}

export function headerLine(profile: string, created: string): string {
  const h: LogHeader = { format: LOG_FORMAT, version: LOG_VERSION, profile, created };
  return JSON.stringify(h);
}

/** A problem in a log, located by file and line (and field, when one is to blame). */
export class LogError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly field?: string,
  ) {
    super(`${file}:${line}: ${field ? `field '${field}': ` : ''}${reason}`);
    this.name = 'LogError';
  }
}

/** Parses and checks line 1 of a log; readers and the appending writer use the same rules. */
export function parseHeader(line: string, path: string): LogHeader {
  if (line.charCodeAt(0) === 0xfeff) throw new LogError(path, 1, 'the header starts with a byte-order mark (U+FEFF); a pagetrack log has none: was it re-saved by an editor?');
  const deep = tooDeepAt(line);
  if (deep >= 0) throw new LogError(path, 1, `the header is ${tooDeepReason(deep)}`);
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new LogError(path, 1, `the header is not JSON (${clip((err as Error).message, 200)})`);
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new LogError(path, 1, `the header must be a JSON object, got ${show(h)}`);
  if (h.format !== LOG_FORMAT) throw new LogError(path, 1, `not a pagetrack log: expected "${LOG_FORMAT}", got ${show(h.format)}`, 'format');
  if (h.version !== LOG_VERSION) throw new LogError(path, 1, `log format version ${show(h.version)} is not one this build reads (${LOG_VERSION})`, 'version');
  if (typeof h.profile !== 'string') throw new LogError(path, 1, `must be a profile name, got ${show(h.profile)}`, 'profile');
  if (typeof h.created !== 'string' || Number.isNaN(Date.parse(h.created))) throw new LogError(path, 1, `must be an ISO-8601 time, got ${show(h.created)}`, 'created');
  if (h.profile.length > MAX_NAME) throw new LogError(path, 1, `must be a profile name of at most ${MAX_NAME} characters, got ${h.profile.length}`, 'profile');
  const extra = Object.keys(h).find((k) => !['format', 'version', 'profile', 'created'].includes(k));
  if (extra) throw new LogError(path, 1, 'is not a header field', clip(extra, 64));
  return h as unknown as LogHeader;
}
