import { type Command, InvalidArgumentError } from 'commander';
import { LogView } from '../serve/log-view.js';
import { startServer } from '../serve/server.js';
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
      const view = LogView.of(await openMachine(log, { ...(o.index !== undefined ? { index: o.index } : {}), ...(o.quiet ? { quiet: true } : {}) }));
      const serving = await startServer(view, { host: o.host, port: o.port });
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
