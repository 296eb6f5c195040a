/**
 * `pagetrack query LOG "SQL"`: SQL over a log through DuckDB. The log is exported to Parquet
 * (its `events` and `summary` tables, one pass) into a cache beside its index, and the SQL runs
 * with views `events` and `summary` over those files.
 *
 * The cache is trusted as far as the index is (README, "The log file"): a small meta file names
 * the log by its identity (size, the hash of its last line, device, inode, change time: any
 * write to the log changes it) and the SHA-256 of each Parquet file, and is signed with this
 * user's index key; anything that does not hold is said and the cache is exported again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';
import { writeFileSafely } from '../io/safe-write.js';
import { indexKey, sign, signatureHolds } from '../timetravel/index-key.js';
import { fallbackIndexPath, identify, indexPathOf, type LogIdentity } from '../timetravel/log-index.js';
import { UsageError } from '../cli/errors.js';
import { exportParquet, sqlString } from './parquet.js';

const CACHE_FORMAT = 'pagetrack-parquet-cache';
/** Bump when the tables' columns change: an older cache is then exported again. */
export const CACHE_VERSION = 1;

interface CacheMeta {
  readonly format: typeof CACHE_FORMAT;
  readonly version: number;
  readonly log: LogIdentity;
  /** SHA-256 (hex) of each Parquet file. */
  readonly files: { readonly events: string; readonly summary: string };
}

export interface CachePaths {
  readonly events: string;
  readonly summary: string;
  readonly meta: string;
}

/** The cache files beside an index path. */
export const cachePaths = (indexPath: string): CachePaths => ({ events: `${indexPath}.events.parquet`, summary: `${indexPath}.summary.parquet`, meta: `${indexPath}.parquet.meta` });

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Why the cache at `p` cannot be used for a log of identity `id`, or undefined when it can. */
async function cacheProblem(p: CachePaths, id: LogIdentity): Promise<string | undefined> {
  let text: Buffer;
  try {
    text = readFileSync(p.meta);
  } catch {
    return 'missing';
  }
  const nl = text.indexOf(10);
  if (nl !== 64) return 'its meta file is malformed';
  const payload = text.subarray(nl + 1);
  if (!signatureHolds(indexKey().key, payload, Buffer.from(text.toString('latin1', 0, 64), 'hex'))) return "its signature does not hold (not written by this user's pagetrack, or changed since)";
  let meta: CacheMeta;
  try {
    meta = JSON.parse(payload.toString('utf8')) as CacheMeta;
  } catch {
    return 'its meta file is malformed';
  }
  if (meta.format !== CACHE_FORMAT || meta.version !== CACHE_VERSION) return 'it was written by another version of pagetrack';
  for (const k of ['size', 'head', 'dev', 'ino', 'ctimeNs'] as const) if (meta.log?.[k] !== id[k]) return `the log changed since it was exported (${k === 'head' ? 'last line' : k === 'ctimeNs' ? 'change time' : k} differs)`;
  for (const what of ['events', 'summary'] as const) {
    let sum: string;
    try {
      sum = await sha256File(p[what]);
    } catch {
      return `its ${what} file is missing`;
    }
    if (sum !== meta.files?.[what]) return `its ${what} file changed since it was written`;
  }
  return undefined;
}

export interface QueryOptions {
  readonly index?: string | undefined;
  readonly quiet?: boolean | undefined;
  /** Told why the cache was (re)built. */
  readonly onNote?: (note: string) => void;
}

/** The Parquet files of `log`: the cache when it holds, else a fresh export (the index's folder, else the user's cache). */
export async function parquetOf(log: string, o: QueryOptions = {}): Promise<CachePaths & { exported: boolean }> {
  const id = await identify(log);
  const places = [indexPathOf(log, o.index), ...(o.index === undefined ? [fallbackIndexPath(log)] : [])].map(cachePaths);
  for (const p of places) {
    const problem = await cacheProblem(p, id);
    if (problem === undefined) return { ...p, exported: false };
    if (problem !== 'missing') o.onNote?.(`exporting ${log} again: the Parquet cache ${p.meta} does not hold: ${problem}`);
  }
  for (const [i, p] of places.entries()) {
    try {
      await exportParquet(log, { events: p.events, summary: p.summary }, { quiet: o.quiet, fromStart: true });
      const after = await identify(log);
      const meta: CacheMeta = { format: CACHE_FORMAT, version: CACHE_VERSION, log: after, files: { events: await sha256File(p.events), summary: await sha256File(p.summary) } };
      const payload = Buffer.from(JSON.stringify(meta), 'utf8');
      writeFileSafely(p.meta, Buffer.concat([Buffer.from(`${sign(indexKey().key, payload).toString('hex')}\n`, 'latin1'), payload]), 'Parquet cache');
      return { ...p, exported: true };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i + 1 < places.length && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) {
        o.onNote?.(`the Parquet cache could not be written beside the log's index (${code}); it goes to ${places[i + 1]!.meta}`);
        continue;
      }
      throw err;
    }
  }
  throw new Error('unreachable: no place for the Parquet cache');
}

export interface QueryResult {
  readonly columns: readonly string[];
  readonly types: readonly string[];
  readonly rows: ReadonlyArray<readonly unknown[]>;
}

const INTEGER_TYPES = new Set(['BIGINT', 'HUGEINT', 'UBIGINT', 'UHUGEINT']);

/** JSON-ready rows: 64-bit integers as numbers when they are safe, else as strings. */
function rowsOf(r: DuckDBResultReader): QueryResult {
  const types = r.columnTypes().map(String);
  const num = (v: unknown, type: string): unknown => (typeof v === 'string' && INTEGER_TYPES.has(type) && Number.isSafeInteger(Number(v)) ? Number(v) : v);
  const cell = (v: unknown, type: string): unknown => {
    // A MAP comes as [{key, value}]: an object reads better (our maps have string keys).
    const m = /^MAP\((\w+), (\w+)\)$/.exec(type);
    if (m && Array.isArray(v)) return Object.fromEntries((v as Array<{ key: unknown; value: unknown }>).map((x) => [String(x.key), num(x.value, m[2]!)]));
    return num(v, type);
  };
  const rows = r.getRowsJson().map((row) => row.map((v, i) => cell(v, types[i]!)));
  return { columns: r.columnNames(), types, rows };
}

/**
 * Runs `sql` with views `events` and `summary` over the Parquet files, in a DuckDB that may read
 * those two files only (enable_external_access off, configuration locked). A bad SQL is a
 * UsageError (one line).
 */
export async function runQuery(files: CachePaths, sql: string): Promise<QueryResult> {
  // Loaded on first use: the native library costs CSV and Perfetto exports nothing.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  let con: DuckDBConnection | undefined;
  try {
    con = await db.connect();
    await con.run(`CREATE VIEW events AS SELECT * FROM read_parquet(${sqlString(files.events)}); CREATE VIEW summary AS SELECT * FROM read_parquet(${sqlString(files.summary)})`);
    // The SQL reads the two tables and nothing else: no other file, no writes, no settings changed.
    await con.run(`SET allowed_paths = [${sqlString(files.events)}, ${sqlString(files.summary)}]; SET enable_external_access = false; SET lock_configuration = true`);
    let r: DuckDBResultReader;
    try {
      r = await con.runAndReadAll(sql);
    } catch (err) {
      const first = ((err as Error).message ?? String(err)).split('\n')[0]!.trim();
      throw new UsageError(`SQL: ${first}`);
    }
    return rowsOf(r);
  } finally {
    con?.closeSync();
    db.closeSync();
  }
}

/** A cell as the table shows it. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
