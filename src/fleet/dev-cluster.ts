/**
 * A local nats-server cluster with JetStream on loopback ports: what `pagetrack nats-dev` runs
 * for trying the fleet on one machine, and what the tests start (test/nats-cluster.ts). Each
 * node is a real `nats-server` process (`-js`, `--cluster`, `--routes`), its store under `dir`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const NATS_SERVER = process.env.PAGETRACK_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Why a real cluster cannot be started here, or undefined when it can. */
export function natsServerMissing(): string | undefined {
  return existsSync(NATS_SERVER) ? undefined : `${NATS_SERVER} is missing (Debian: apt-get install nats-server)`;
}

/** A free loopback TCP port (bound and released; the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Node {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly httpPort: number;
  readonly store: string;
  proc: ChildProcess | undefined;
  /** The server's stderr, kept for the error when it does not come up. */
  log: string;
}

export interface ClusterOptions {
  /** 1 or 3 (any n ≥ 1 works; JetStream needs a majority of a cluster up). */
  readonly nodes: number;
  /** Store directories go under here (`n1`, `n2`, ...). */
  readonly dir: string;
  /** Client ports: basePort, basePort+1, ...; cluster ports +100, monitoring +200. Free ports when absent. */
  readonly basePort?: number;
}

export class NatsCluster {
  private constructor(private readonly nodes: Node[]) {}

  /** Starts every node and waits until JetStream has a meta leader. */
  static async start(o: ClusterOptions): Promise<NatsCluster> {
    const nodes: Node[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const name = `n${i + 1}`;
      const port = o.basePort !== undefined ? o.basePort + i : await freePort();
      const clusterPort = o.basePort !== undefined ? o.basePort + 100 + i : await freePort();
      const httpPort = o.basePort !== undefined ? o.basePort + 200 + i : await freePort();
      const store = join(o.dir, name);
      mkdirSync(store, { recursive: true });
      nodes.push({ name, port, clusterPort, httpPort, store, proc: undefined, log: '' });
    }
    const c = new NatsCluster(nodes);
    try {
      for (let i = 0; i < nodes.length; i++) c.spawnNode(i);
      await c.waitReady();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Every node's client URL, comma-separated: what `--nats` takes. */
  get url(): string {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  }

  nodeUrl(i: number): string {
    return `nats://127.0.0.1:${this.nodes[i]!.port}`;
  }

  private spawnNode(i: number): void {
    const n = this.nodes[i]!;
    const args = ['-js', '-sd', n.store, '-a', '127.0.0.1', '-p', String(n.port), '-m', String(n.httpPort), '-n', n.name];
    if (this.nodes.length > 1) {
      const routes = this.nodes.filter((m) => m !== n).map((m) => `nats://127.0.0.1:${m.clusterPort}`);
      args.push('--cluster_name', 'pagetrack-dev', '--cluster', `nats://127.0.0.1:${n.clusterPort}`, '--routes', routes.join(','));
    }
    const proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // A parent that ends without stopping the cluster (an uncaught error) takes its servers with it.
    const orphan = (): void => void proc.kill('SIGKILL');
    process.once('exit', orphan);
    proc.once('exit', () => process.off('exit', orphan));
    n.log = '';
    proc.stderr!.on('data', (d: Buffer) => {
      n.log = (n.log + d.toString()).slice(-8192);
    });
    proc.on('error', (err) => {
      n.log += `\nspawn: ${err.message}`;
    });
    n.proc = proc;
  }

  /** Kills one node (SIGKILL by default: no goodbye to the others). */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.nodes[i]!;
    const p = n.proc;
    n.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  /** Starts a killed node again on its ports and store, and waits until the cluster is healthy. */
  async restart(i: number): Promise<void> {
    await this.kill(i, 'SIGTERM');
    this.spawnNode(i);
    await this.waitReady();
  }

  /** Stops every node, then starts them all again (the whole cluster restarted). */
  async restartAll(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.kill(i, 'SIGTERM');
    for (let i = 0; i < this.nodes.length; i++) this.spawnNode(i);
    await this.waitReady();
  }

  /**
   * Until every running node answers /healthz (JetStream current) and a meta leader exists. After
   * a restart of the whole cluster, nats-server 2.9 can leave a follower answering "stream …
   * is not current" on its own /healthz long after its leader counts it current (seen here for
   * over 30 s on an idle stream): past `strictMs` of only that, a node whose JetStream is up
   * (`/healthz?js-server-only=true`) is taken as ready, and the clients' retries do the rest.
   */
  async waitReady(timeoutMs = 60_000, strictMs = 10_000): Promise<void> {
    const start = Date.now();
    let why = '';
    while (Date.now() < start + timeoutMs) {
      why = await this.notReady(Date.now() > start + strictMs);
      if (!why) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const logs = this.nodes.map((n) => `--- ${n.name}:\n${n.log.split('\n').slice(-8).join('\n')}`).join('\n');
    throw new Error(`nats-server cluster not ready after ${timeoutMs} ms: ${why}\n${logs}`);
  }

  private async notReady(lenient: boolean): Promise<string> {
    for (const n of this.nodes) {
      if (!n.proc) continue;
      if (n.proc.exitCode !== null) return `${n.name} exited with status ${n.proc.exitCode}`;
      try {
        const h = await fetch(`http://127.0.0.1:${n.httpPort}/healthz`);
        if (!h.ok) {
          const body = await h.text();
          const stale = lenient && / is not current/.test(body) && (await fetch(`http://127.0.0.1:${n.httpPort}/healthz?js-server-only=true`)).ok;
          if (!stale) return `${n.name} /healthz: ${h.status} ${body}`;
        }
        if (this.nodes.length > 1) {
          const j = (await (await fetch(`http://127.0.0.1:${n.httpPort}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
          if (!j.meta_cluster?.leader) return `${n.name}: no JetStream meta leader yet`;
        }
      } catch (err) {
        return `${n.name}: ${(err as Error).message}`;
      }
    }
    return '';
  }

  /** Stops every node (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.proc;
        n.proc = undefined;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => p.kill('SIGKILL'), 5000);
          p.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          p.kill('SIGTERM');
        });
      }),
    );
  }
}
