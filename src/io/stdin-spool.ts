/**
 * `-` for a log (README, "CLI"): standard input is copied to a private temporary file first,
 * because every log command reads its log more than once (the chain check, the index, the
 * windows time travel replays). The folder goes when the process exits.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { nameCopy } from './display-name.js';
import { tempDir } from './temp-dir.js';

/** The spooled copy of standard input: `…/pagetrack-stdin-XXXXXX/standard-input.log.ndjson`. */
export async function spoolStdin(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const dir = tempDir('pagetrack-stdin-');
  const path = join(dir, 'standard-input.log.ndjson');
  await pipeline(input, createWriteStream(path, { mode: 0o600 }));
  nameCopy(path, 'standard input');
  return path;
}
