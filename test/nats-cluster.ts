/**
 * A real 3-node nats-server cluster with JetStream for the fleet tests: free loopback ports,
 * stores under a fresh temporary directory, started and waited on (meta leader), single nodes
 * killed and restarted, and always torn down (call `stop` in afterAll). The cluster itself is
 * src/fleet/dev-cluster.ts, which `pagetrack nats-dev` runs too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsCluster, natsServerMissing } from '../src/fleet/dev-cluster.js';

export { natsServerMissing };

export interface TestCluster {
  readonly cluster: NatsCluster;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startTestCluster(nodes = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-nats-'));
  let cluster: NatsCluster;
  try {
    cluster = await NatsCluster.start({ nodes, dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    cluster,
    url: cluster.url,
    async stop() {
      try {
        await cluster.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The index (0-based) of the node named in a stream's cluster info (`n1` is 0). */
export const nodeIndex = (name: string): number => Number(name.replace(/^n/, '')) - 1;
