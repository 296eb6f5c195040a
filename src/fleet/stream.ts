/**
 * The connection and the three streams of a fleet (README, "A fleet of hosts"):
 *
 * | stream | subjects | what it keeps |
 * |---|---|---|
 * | `PAGETRACK` (`--stream`) | `pagetrack.log.>` | every VM's log, message by message, forever (limits retention, no age or size limit, `discard: new`, deletes and purges refused) |
 * | `<stream>_FINDINGS` | `pagetrack.findings.>` | the findings audit groups published (limits retention, 10-minute duplicate window) |
 * | `<stream>_AUDIT` | `pagetrack.audit.>` | one record per group and VM, the latest only (`max_msgs_per_subject: 1`): lease and checkpoint |
 *
 * Replicas: `--replicas`, else 3 or the cluster's size when smaller (the servers the first one
 * gossips). File storage throughout.
 */
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { DiscardPolicy, type JetStreamClient, type JetStreamManager, JetStreamApiError, RetentionPolicy, StorageType, type StreamConfig, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { UsageError } from '../cli/errors.js';
import { AUDIT_PREFIX, FINDINGS_PREFIX, LOG_PREFIX } from './subjects.js';

export { DEFAULT_STREAM } from './defaults.js';
import { DEFAULT_STREAM } from './defaults.js';
const NS_PER_MS = 1_000_000;
/** A publish retried within this window is a no-op on the server (message id); later, resuming does it. */
export const LOG_DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Long enough for a takeover (lease expiry, seconds) to republish a dead owner's last findings as no-ops. */
export const FINDINGS_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** JetStream stream names: no '.', wildcards, whitespace or path separators (ADR-6); we keep them to one plain token. */
export function checkStreamName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(name)) throw new UsageError(`--stream '${name.length > 40 ? `${name.slice(0, 37)}...` : name}' must be 1-32 letters, digits, _ or -`);
  return name;
}

/** `nats://host:port[,nats://host:port...]`: checked before it is dialled. */
export function parseNatsUrl(text: string): string[] {
  const urls = text.split(',').map((s) => s.trim());
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u.includes('://') ? u : `nats://${u}`);
    } catch {
      throw new UsageError(`--nats '${u.slice(0, 200)}' is not a URL (nats://host:port)`);
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw new UsageError(`--nats '${u.slice(0, 200)}': the scheme must be nats:// or tls://, got ${url.protocol}//`);
    if (!url.hostname) throw new UsageError(`--nats '${u.slice(0, 200)}' names no host`);
  }
  return urls;
}

export interface Fleet {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly url: string;
  readonly stream?: string | undefined;
  /** Connection name the servers show (`pagetrack publish`, ...). */
  readonly name?: string;
  /** Per-request timeout for JetStream API calls and publish acks (default 5 s). */
  readonly timeoutMs?: number;
}

/** Connects, reconnecting for ever to any server of the cluster it learns of (a node may come back). */
export async function connectFleet(o: ConnectOptions): Promise<Fleet> {
  const servers = parseNatsUrl(o.url);
  const stream = checkStreamName(o.stream ?? DEFAULT_STREAM);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, name: o.name ?? 'pagetrack', maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000 });
  } catch (err) {
    throw new UsageError(`cannot connect to NATS at ${servers.join(',')}: ${(err as Error).message}`);
  }
  const timeout = o.timeoutMs ?? 5000;
  const js = jetstream(nc, { timeout });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (err) {
    await nc.close();
    throw new UsageError(`NATS at ${servers.join(',')} has no JetStream (start nats-server with -js): ${(err as Error).message}`);
  }
  return { nc, js, jsm, stream, close: () => nc.close() };
}

/** 3, or the cluster's size when smaller: the servers this connection knows of (itself and those it gossips). */
export function defaultReplicas(nc: NatsConnection): number {
  const info = (nc as unknown as { info?: { connect_urls?: string[] } }).info;
  return Math.min(3, 1 + (info?.connect_urls?.length ?? 0));
}

export const findingsStream = (stream: string): string => `${stream}_FINDINGS`;
export const auditStream = (stream: string): string => `${stream}_AUDIT`;

export function logStreamConfig(name: string, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [`${LOG_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    // An audit artifact: nothing ages out and nothing is dropped to make room; a full account refuses the publish.
    max_age: 0,
    max_bytes: -1,
    max_msgs: -1,
    max_msgs_per_subject: -1,
    discard: DiscardPolicy.New,
    duplicate_window: LOG_DUPLICATE_WINDOW_MS * NS_PER_MS,
    deny_delete: true,
    deny_purge: true,
    allow_direct: false,
  };
}

function findingsConfig(stream: string, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: findingsStream(stream),
    subjects: [`${FINDINGS_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    discard: DiscardPolicy.New,
    duplicate_window: FINDINGS_DUPLICATE_WINDOW_MS * NS_PER_MS,
    allow_direct: false,
  };
}

function auditConfig(stream: string, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: auditStream(stream),
    subjects: [`${AUDIT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    max_msgs_per_subject: 1,
    discard: DiscardPolicy.Old,
    allow_direct: false,
  };
}

async function ensure(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, create: boolean): Promise<void> {
  const name = config.name!;
  try {
    const info = await jsm.streams.info(name);
    const want = config.subjects![0]!;
    if (!info.config.subjects?.some((s) => s === want || s === '>' || (s.endsWith('.>') && want.startsWith(s.slice(0, -1))))) {
      throw new UsageError(`stream ${name} exists but does not hold ${want} (its subjects: ${info.config.subjects?.join(' ') ?? 'none'})`);
    }
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err; // not "stream not found"
  }
  if (!create) throw new UsageError(`stream ${name} does not exist on this server (nothing was published yet?)`);
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10058) return; // created by a racing process: the same config
    throw new UsageError(`cannot create stream ${name} (${config.num_replicas} replicas): ${(err as Error).message}`);
  }
}

export async function ensureLogStream(f: Fleet, o: { create: boolean; replicas?: number | undefined }): Promise<void> {
  await ensure(f.jsm, logStreamConfig(f.stream, o.replicas ?? defaultReplicas(f.nc)), o.create);
}

/** The findings and audit-record streams (created by the first auditor; same replicas as the log stream). */
export async function ensureAuditStreams(f: Fleet): Promise<void> {
  const info = await f.jsm.streams.info(f.stream);
  const r = info.config.num_replicas;
  await ensure(f.jsm, findingsConfig(f.stream, r), true);
  await ensure(f.jsm, auditConfig(f.stream, r), true);
}
