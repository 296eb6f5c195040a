/**
 * Test-only printers of the trace shapes ingest reads, written from the format strings themselves
 * (mmutrace.h TP_printk, libtraceevent plugin_kvm.c, trace-cmd -R, tracefs/perf line headers),
 * so a property test can print arbitrary values and check that ingest reads back exactly them.
 */
export interface SpFields {
  gen: number;
  gfn: number;
  level: number;
  gpteBytes: 4 | 8;
  quadrant: number;
  direct: boolean;
  access: number;
  invalid: boolean;
  nxe: boolean;
  ad: boolean;
  rootCount: number;
  unsync: boolean;
  smm: number;
  created?: boolean;
}

const ACCESS = ['---', '--x', 'w--', 'w-x', '-u-', '-ux', 'wu-', 'wux'];
const hex = (n: number) => n.toString(16);

/** KVM_MMU_PAGE_PRINTK: 4.6 "sp gen %lx gfn %llx %u%s q%u%s %s%s %snxe root %u %s", 4.19 adds l and %sad, 5.9+ "%u-byte". */
export function kernelSp(f: SpFields, version: '4.6' | '4.19' | '5.0' | '6.x'): string {
  const common = `q${f.quadrant}${f.direct ? ' direct' : ''} ${ACCESS[f.access]}${f.invalid ? ' invalid' : ''} ${f.nxe ? '' : '!'}nxe`;
  let s: string;
  if (version === '4.6') s = `sp gen ${hex(f.gen)} gfn ${hex(f.gfn)} ${f.level}${f.gpteBytes === 8 ? ' pae' : ''} ${common} root ${f.rootCount} ${f.unsync ? 'unsync' : 'sync'}`;
  else if (version === '5.0') s = `sp gfn ${hex(f.gfn)} l${f.level}${f.gpteBytes === 8 ? ' pae' : ''} ${common} ${f.ad ? '' : '!'}ad root ${f.rootCount} ${f.unsync ? 'unsync' : 'sync'}`;
  else if (version === '4.19') s = `sp gen ${hex(f.gen)} gfn ${hex(f.gfn)} l${f.level}${f.gpteBytes === 8 ? ' pae' : ''} ${common} ${f.ad ? '' : '!'}ad root ${f.rootCount} ${f.unsync ? 'unsync' : 'sync'}`;
  else s = `sp gen ${f.gen} gfn ${hex(f.gfn)} l${f.level} ${f.gpteBytes}-byte ${common} ${f.ad ? '' : '!'}ad root ${f.rootCount} ${f.unsync ? 'unsync' : 'sync'}`;
  return f.created === undefined ? s : `${s} ${f.created ? 'new' : 'existing'}`;
}

/** plugin_kvm.c (current): "[new|existing sp gfn X ]%u q%u%s %s%s %spae %snxe %swp%s%s%s root %u %s"; bit 4 printed as pae. */
export function pluginSp(f: SpFields, has4ByteBit: boolean, withGfn: boolean): string {
  const bit4 = (f.gpteBytes === 4) === has4ByteBit;
  const head = withGfn ? `${f.created ? 'new' : 'existing'} sp gfn ${hex(f.gfn)} ` : '';
  return `${head}${f.level} q${f.quadrant}${f.direct ? ' direct' : ''} ${ACCESS[f.access]}${f.invalid ? ' invalid' : ''} ${bit4 ? '' : '!'}pae ${f.nxe ? '' : '!'}nxe !wp${f.smm ? ' smm' : ''} root ${f.rootCount} ${f.unsync ? 'unsync' : 'sync'}`;
}

/** The kernel's role word for these fields (kvm_host.h layout). */
export function roleWord(f: SpFields, has4ByteBit: boolean): number {
  const bit4 = (f.gpteBytes === 4) === has4ByteBit ? 1 : 0;
  return (f.level | (bit4 << 4) | (f.quadrant << 5) | ((f.direct ? 1 : 0) << 7) | (f.access << 8) | ((f.invalid ? 1 : 0) << 11) | ((f.nxe ? 1 : 0) << 12) | (f.smm << 24)) >>> 0;
}

/** trace-cmd report -R: "mmu_valid_gen=%u gfn=%llu role=%u root_count=%u unsync=%u created=%u". */
export function rawSp(f: SpFields, has4ByteBit: boolean): string {
  return `mmu_valid_gen=${f.gen} gfn=${f.gfn} role=${roleWord(f, has4ByteBit)} root_count=${f.rootCount} unsync=${f.unsync ? 1 : 0}${f.created === undefined ? '' : ` created=${f.created ? 1 : 0}`}`;
}

/** A tracefs line: "%16s-%-7d [%03d] %5s %12s: event: payload" (the kernel pads the task to 16 and the pid to 7). */
export function tracefsLine(task: string, pid: number, cpu: number, ts: string, event: string, payload: string, flags = '.....'): string {
  return `${`${task}-${pid}`.padStart(23)} [${String(cpu).padStart(3, '0')}] ${flags} ${ts.padStart(12)}: ${event}: ${payload}`;
}

/** A perf script line: "%16s %6d [%03d] %s: system:event: payload". */
export function perfLine(task: string, pid: number, cpu: number, ts: string, system: string, event: string, payload: string): string {
  return `${task.padStart(16)} ${String(pid).padStart(6)} [${String(cpu).padStart(3, '0')}] ${ts}: ${system}:${event}: ${payload}`;
}

/** A trace-cmd report line: "%16s-%-5d [%03d] %s: %-20s %s" (the event name padded). */
export function traceCmdLine(task: string, pid: number, cpu: number, ts: string, event: string, payload: string): string {
  return `${`${task}-${pid}`.padStart(16)} [${String(cpu).padStart(3, '0')}] ${ts}: ${`${event}:`.padEnd(20)} ${payload}`;
}
