/** How the bench's processes time work: the last run's garbage is collected before the clock starts (--expose-gc). */
export const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** CPU seconds (user + system, all threads of the process) since `start` (process.cpuUsage()). */
export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

/** Runs `work` once on a clean heap; its milliseconds and what it returned. */
export function timeOnce<T>(work: () => T): { ms: number; value: T } {
  collectGarbage();
  const t0 = performance.now();
  const value = work();
  return { ms: performance.now() - t0, value };
}

/** Median and range of repeated runs, as every bench section reports them. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export const spread = (xs: readonly number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)!, runs: s.length };
};
