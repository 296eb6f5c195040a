import { type Command, InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';
import { openMachine } from './timetravel-commands.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function portNumber(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`--port must be a port number in 0..65535 (0: any free port), got '${v}'`);
  return Number(v);
}

/** `pagetrack serve LOG`: a local, read-only web view of a log (README, "Web view"). */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('a local, read-only web view of a log: timeline, state at any point, diffs, findings (README, "Web view")')
    .argument('<log>', 'event log')
    .option('--port <N>', 'port to listen on (default: a free one)', portNumber, 0)
    .option('--host <address>', 'address to listen on (default 127.0.0.1; anything else is reachable by others: a warning is printed)', '127.0.0.1')
    .option('--index <path>', 'where the index lives (default: beside the log, or in $PAGETRACK_INDEX_DIR)')
    .option('--quiet', 'no progress bar while the index is built')
    .action(async (log: string, o: { port: number; host: string; index?: string; quiet?: boolean }) => {
      if (!LOOPBACK.has(o.host)) console.error(`pagetrack: warning: serving on ${o.host}, not loopback: anyone who can reach this address can read the log (the view is read-only, with no authentication)`);
      // The server's modules load when it runs, not at every command's start.
      const [{ LogView }, { startServer }] = await Promise.all([import('../serve/log-view.js'), import('../serve/server.js')]);
      const view = LogView.of(await openMachine(log, { ...(o.index !== undefined ? { index: o.index } : {}), ...(o.quiet ? { quiet: true } : {}) }));
      const serving = await startServer(view, { host: o.host, port: o.port }).catch(async (err: NodeJS.ErrnoException) => {
        await view.close();
        // A port in use, an address not here: the user's --port or --host, said as such.
        if (err.code === 'EADDRINUSE') throw new UsageError(`--port ${o.port}: the port is in use on ${o.host}`);
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') throw new UsageError(`--host ${o.host}: no such address on this machine (${err.code})`);
        if (err.code === 'EACCES') throw new UsageError(`--port ${o.port}: not allowed to listen there (EACCES)`);
        throw err;
      });
      console.log(`pagetrack: serving ${log} at ${serving.url}`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await serving.close();
      await view.close();
      process.exit(0);
    });
}
