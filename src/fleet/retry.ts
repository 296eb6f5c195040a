/**
 * What a dying node, a leader election or a restarting cluster looks like to a client (a
 * timeout, no responders, "JetStream system temporarily unavailable"), and retrying through it.
 */
import { NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { UsageError } from '../cli/errors.js';

export function isTransient(err: unknown): boolean {
  // nats.js words "no responders" on a JetStream subject (no stream leader during an election) as JetStreamNotEnabled.
  if (err instanceof Error && (err.name === 'JetStreamNotEnabled' || /jetstream is not enabled/i.test(err.message))) return true;
  if (err instanceof TimeoutError || err instanceof NoRespondersError) return true;
  if (err instanceof JetStreamApiError) return err.status === 503 || err.code === 10008;
  if (err instanceof JetStreamError) return /timeout|no responders|unavailable/i.test(err.message);
  return err instanceof Error && /timeout|timed out|no responders|disconnect|reconnect|connection (closed|lost)|503|unavailable/i.test(err.message);
}

/** The optimistic-concurrency refusal: the subject's last sequence is not the one expected. */
export const isWrongLast = (err: unknown): boolean => err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164);

/** Runs `fn`, retrying transient failures with backoff for up to `forMs`; then one clear error. */
export async function retrying<T>(what: string, forMs: number, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + forMs;
  let wait = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() > until) throw new UsageError(`${what}: the NATS cluster did not answer for ${Math.round(forMs / 1000)} s (${(err as Error).message})`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(2000, wait * 2);
    }
  }
}
