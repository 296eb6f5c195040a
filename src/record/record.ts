/**
 * `pagetrack record`: a VMM's page-tracking events from tracefs, streamed to a file. The command
 * to record is started held (a shell waiting on a pipe) so its pid is filtered before it runs,
 * then released; the child learns the instance's trace_marker from PAGETRACK_TRACE_MARKER (so a
 * scenario runner can put markers and `pagetrack-cmd` memslot commands in the trace). The
 * recording stops when the command exits, on Ctrl-C, or after --duration; the instance (and a
 * private tracefs mount) is removed whatever happens. Lost events are counted, never hidden.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync, readSync, readdirSync, unlinkSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { commitTemp, createTempBeside } from '../io/safe-write.js';
import { type Instance, RecordError, createInstance, findTracefs, followPids, lostEvents } from './tracefs.js';

export interface RecordOptions {
  readonly out: string;
  readonly pid?: number;
  readonly command?: readonly string[];
  readonly events: readonly string[];
  readonly durationSeconds?: number;
  readonly gzip?: boolean;
  readonly bufferKb?: number;
  /** Called about twice a second: lines, bytes, lost events. */
  readonly onStatus?: (s: RecordStatus) => void;
}

export interface RecordStatus {
  readonly lines: number;
  readonly bytes: number;
  readonly lost: number;
  readonly seconds: number;
}

export interface RecordResult extends RecordStatus {
  readonly out: string;
  readonly stoppedBy: 'exit' | 'signal' | 'duration';
  readonly exitCode: number | null;
  readonly instance: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function record(o: RecordOptions): Promise<RecordResult> {
  if ((o.pid === undefined) === (o.command === undefined || o.command.length === 0)) throw new RecordError('give --pid PID or -- COMMAND ARGS... (one of them)');
  if (o.pid !== undefined && !processExists(o.pid)) throw new RecordError(`no process ${o.pid}`);
  const t = findTracefs();
  const name = `pagetrack-${process.pid}-${Date.now().toString(36)}`;
  let inst: Instance | undefined;
  const started = performance.now();
  let stoppedBy: RecordResult['stoppedBy'] = 'exit';
  let exitCode: number | null = null;
  let lines = 0;
  let bytes = 0;
  const { tmp, fd: tmpFd } = createTempBeside(o.out, 'trace');
  closeSync(tmpFd);
  const file = createWriteStream(tmp);
  const gz = o.gzip ? createGzip() : undefined;
  if (gz) gz.pipe(file);
  const sink = gz ?? file;
  let stop = false;
  const onSignal = () => {
    stoppedBy = 'signal';
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    inst = createInstance(t, name, o.events, o.bufferKb ?? 16384);
    let child: ReturnType<typeof spawn> | undefined;
    let childDone: Promise<void> = new Promise(() => {});
    if (o.command) {
      // held until its pid is in set_event_pid (exec keeps the pid), then released through fd 3
      child = spawn('/bin/sh', ['-c', 'read _ <&3; exec 3<&-; exec "$0" "$@"', ...o.command], {
        stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
        env: { ...process.env, PAGETRACK_TRACE_MARKER: inst.marker },
      });
      const c = child;
      childDone = new Promise((resolve) => {
        c.on('exit', (code, signal) => {
          exitCode = code ?? (signal ? 128 : null);
          resolve();
        });
        c.on('error', () => resolve());
      });
      followPids(inst, [child.pid!]);
      (child.stdio[3] as NodeJS.WritableStream).end('go\n');
    } else followPids(inst, threadsOf(o.pid!)); // a VMM's vCPU threads are threads of its process
    let exited = false;
    void childDone.then(() => (exited = true));
    const pipe = openSync(inst.pipe, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.allocUnsafe(1 << 20);
    let lastStatus = 0;
    try {
      for (;;) {
        let n = 0;
        try {
          n = readSync(pipe, buf, 0, buf.length, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
        if (n > 0) {
          const chunk = Buffer.from(buf.subarray(0, n));
          for (let i = 0; i < n; i++) if (chunk[i] === 10) lines++;
          bytes += n;
          if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
          continue; // drain what is there before looking at the clock
        }
        const seconds = (performance.now() - started) / 1000;
        if (seconds * 1000 - lastStatus >= 500) {
          lastStatus = seconds * 1000;
          o.onStatus?.({ lines, bytes, lost: lostEvents(inst), seconds });
        }
        if (o.durationSeconds !== undefined && seconds >= o.durationSeconds) {
          stoppedBy = 'duration';
          break;
        }
        if (stop || exited) break;
        if (o.pid !== undefined && !processExists(o.pid)) break;
        await sleep(20);
      }
    } finally {
      closeSync(pipe);
    }
    if (child && !exited) {
      child.kill('SIGTERM');
      await Promise.race([childDone, sleep(2000)]);
    }
    const lost = lostEvents(inst);
    await new Promise<void>((resolve, reject) => {
      file.on('finish', () => resolve());
      file.on('error', reject);
      sink.end();
    });
    commitTemp(tmp, o.out, 'trace');
    return { out: o.out, lines, bytes, lost, seconds: (performance.now() - started) / 1000, stoppedBy, exitCode, instance: inst.dir };
  } catch (err) {
    sink.destroy();
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    inst?.remove();
    t.release();
  }
}

/** Every thread of a process (/proc/PID/task): set_event_pid filters by thread id. */
function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => Number.isSafeInteger(t));
  } catch {
    return [pid];
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
