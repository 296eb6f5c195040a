import { SingleBar } from 'cli-progress';
import type { ReadProgress } from '../log/reader.js';

export interface Progress {
  update(p: ReadProgress): void;
  stop(): void;
}

const QUIET: Progress = { update: () => {}, stop: () => {} };

/**
 * A progress bar on stderr (events/s and the share of bytes read) for long reads; nothing at
 * all when stderr is not a terminal or when `quiet`.
 */
export function progressBar(label: string, options: { quiet?: boolean | undefined; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || !stream.isTTY) return QUIET;
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {events} events | {rate} events/s`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    fps: 5,
  });
  const started = performance.now();
  let begun = false;
  return {
    update(p) {
      const payload = { events: p.events.toLocaleString('en-US'), rate: Math.round(p.events / Math.max(1e-3, (performance.now() - started) / 1000)).toLocaleString('en-US') };
      if (!begun) {
        bar.start(Math.max(1, p.totalBytes), p.bytes, payload);
        begun = true;
      } else bar.update(p.bytes, payload);
    },
    stop() {
      if (begun) bar.stop();
      begun = false;
    },
  };
}
