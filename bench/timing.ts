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
