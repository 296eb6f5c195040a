/**
 * `audit --checkpoint FILE` (issue 15, as ausearch's --checkpoint): after an audit, everything it
 * knows (the auditor, its model's state, the validator's history checks) and where in the log
 * it stopped; the next audit of the same, appended log reads only what follows. The file is
 * signed with this user's index key (src/timetravel/index-key.ts): a changed or foreign file is
 * refused, never half-trusted. The log is bound by its header and by the chain: the line at the
 * saved offset must name the saved hash as its predecessor.
 */
import { readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import type { AuditorSaved } from './auditor.js';
import type { FileHandle } from 'node:fs/promises';
import { type LogHeader, hashLine } from '../log/format.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import type { ReadStart } from '../log/reader.js';
import type { ValidatorSaved } from '../log/validate.js';
import { writeFileSafely } from '../io/safe-write.js';
import { asInputError } from '../io/input-file.js';
import { indexKey, sign, signatureHolds } from '../timetravel/index-key.js';

const MAGIC = Buffer.from('pagetrack-audit-checkpoint 1\n');
const MAC_BYTES = 32;

export interface AuditCheckpoint {
  readonly header: LogHeader;
  readonly start: ReadStart;
  readonly auditor: AuditorSaved;
  readonly validator: ValidatorSaved;
}

export class CheckpointError extends Error {}

/** Refuses up front when no lasting key can be kept: a checkpoint signed with a key of this process only would be refused by the next run. */
export function checkpointKeyProblem(): string | undefined {
  const k = indexKey();
  return k.ephemeral ? `--checkpoint needs a key that lasts between runs, and none can be kept (${k.ephemeral})` : undefined;
}

export function saveAuditCheckpoint(path: string, cp: AuditCheckpoint): void {
  const payload = serialize(cp);
  writeFileSafely(path, Buffer.concat([MAGIC, sign(indexKey().key, payload), payload]), 'audit checkpoint');
}

/** The checkpoint at `path`, or undefined when there is none yet; a bad one is an error naming it. */
export function loadAuditCheckpoint(path: string): AuditCheckpoint | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw asInputError(err, 'audit checkpoint', path);
  }
  if (bytes.length < MAGIC.length + MAC_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointError(`${path}: not a pagetrack audit checkpoint (it does not start with '${MAGIC.toString().trim()}')`);
  }
  const mac = bytes.subarray(MAGIC.length, MAGIC.length + MAC_BYTES);
  const payload = bytes.subarray(MAGIC.length + MAC_BYTES);
  if (!signatureHolds(indexKey().key, payload, mac)) {
    throw new CheckpointError(`${path}: the audit checkpoint's signature does not hold: it was changed, or written by another user or machine (its key is in the cache folder); delete it to audit from the start`);
  }
  return deserialize(payload) as AuditCheckpoint;
}

/**
 * Why `cp` cannot resume this log (another log, or one cut or rewritten), or undefined: the
 * header must match, and the line that ends where the checkpoint stopped must hash to the hash
 * it saved (the chain then vouches for everything before it, as it does for an index).
 */
export async function mismatch(cp: AuditCheckpoint, header: LogHeader, fh: FileHandle, size: number): Promise<string | undefined> {
  if (cp.header.created !== header.created || cp.header.profile !== header.profile) {
    return `it was taken on another log (created ${cp.header.created}, ${cp.header.profile}; this one: created ${header.created}, ${header.profile})`;
  }
  const end = cp.start.offset;
  if (size < end) return `the log is shorter (${size} bytes) than where the checkpoint stopped (${end}): it was cut or replaced`;
  for (let block = 1 << 12; ; block *= 8) {
    const from = Math.max(0, end - 1 - block);
    const buf = Buffer.alloc(end - from);
    await fh.read(buf, 0, buf.length, from);
    if (buf[buf.length - 1] !== 10) break;
    const nl = buf.lastIndexOf(10, buf.length - 2);
    if (nl >= 0 || from === 0) {
      if (hashLine(buf.subarray(nl + 1, buf.length - 1)) === cp.start.prevHash) return undefined;
      break;
    }
    if (block > MAX_LINE_BYTES) break;
  }
  return `the line before byte ${end}, where the checkpoint stopped, is not the one it saw: the log was rewritten or replaced`;
}
