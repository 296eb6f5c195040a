/**
 * The payloads of the events ingest uses, as each tool prints them:
 * - the kernel's TP_printk (tracefs, perf script): KVM_MMU_PAGE_PRINTK in its 4.6, 4.19 and
 *   5.9+ shapes (mmutrace.h), kvm_page_fault old and new (trace.h), kvm_emulate_insn, ...;
 * - libtraceevent's kvm plugin (trace-cmd report), both generations (plugin_kvm.c): it decodes
 *   the role word with its own, out-of-date layout, so the kernel's role bits are rebuilt from
 *   what it printed, and what it could not print is marked unknown;
 * - raw `field=value` pairs (trace-cmd report -R), whose role word is decoded per kernel version.
 * Each decoder returns a typed record, or a reason naming what it expected.
 */
import { asciiBytes } from './ascii.js';

/** A shadow page's role, as far as the line tells it (undefined: the line does not say). */
export interface SpRole {
  readonly level: number;
  readonly quadrant?: number;
  readonly direct?: boolean;
  readonly access?: number;
  readonly invalid?: boolean;
  /** role.smm: the address space whose slot accounts the page (spec 5.1). */
  readonly smm?: number;
  /** 6.x role.passthrough: such pages have no gptes and are not accounted. */
  readonly passthrough?: boolean;
  readonly gpteBytes?: 4 | 8;
}

export interface SpLine {
  readonly gfn?: number;
  readonly role: SpRole;
  /** kvm_mmu_get_page only: a new page, or one found in the hash (undefined: the old plugin does not say). */
  readonly created?: boolean;
  readonly rootCount: number;
  readonly unsync: boolean;
}

export type Decoded<T> = T | { readonly error: string };
export const isError = <T>(d: Decoded<T>): d is { readonly error: string } => typeof d === 'object' && d !== null && 'error' in d;

const ACCESS = ['---', '--x', 'w--', 'w-x', '-u-', '-ux', 'wu-', 'wux'];
const hexNum = (s: string): number => Number.parseInt(s, 16);

// sp gen G gfn X [l]L[ N-byte| pae] qQ[ direct] ACC[ invalid] [!]nxe [[!]ad ]root R sync|unsync[ new|existing]
const KERNEL_SP = /^sp (?:gen ([0-9a-f]+) )?gfn ([0-9a-f]+) (l?)(\d+)(?: (\d)-byte|( pae))? q(\d+)( direct)? ([-wux]{3})( invalid)? !?nxe (?:!?ad )?root (\d+) (sync|unsync)(?: (new|existing))?\s*$/;

/**
 * KVM_MMU_PAGE_PRINTK as the kernel prints it: 4.6 "sp gen %lx gfn %llx %u%s q%u..." (no `l`, no
 * `ad`), 4.19 "... l%u%s q%u ... %sad ..." (`pae` for 8-byte gptes), 4.20-5.2 the same without
 * "gen %lx" (mmu_valid_gen was gone until the fast zap came back in 5.3), 5.9+ "... l%u %u-byte q%u ...".
 * The role's smm bits are not printed: `smm` stays unknown.
 */
export function decodeKernelSp(payload: string): Decoded<SpLine> {
  const m = KERNEL_SP.exec(payload);
  if (!m) return { error: 'KVM_MMU_PAGE_PRINTK: "sp [gen G ]gfn X lL N-byte qQ [direct] ACC [invalid] [!]nxe [!]ad root R sync|unsync [new|existing]"' };
  const bytes = m[5] !== undefined ? (Number(m[5]) as 4 | 8) : m[6] ? 8 : m[3] ? 4 : undefined;
  return {
    gfn: hexNum(m[2]!),
    role: { level: Number(m[4]), quadrant: Number(m[7]), direct: m[8] !== undefined, access: ACCESS.indexOf(m[9]!), invalid: m[10] !== undefined, ...(bytes ? { gpteBytes: bytes } : {}) },
    ...(m[13] ? { created: m[13] === 'new' } : {}),
    rootCount: Number(m[11]),
    unsync: m[12] === 'unsync',
  };
}

// libtraceevent plugin_kvm.c, current generation: "[new|existing sp gfn X ]%u q%u%s %s%s %spae %snxe %swp%s%s%s root %u %s"
const PLUGIN_SP = /^(?:(new|existing) sp gfn ([0-9a-f]+) )?(\d+) q(\d+)( direct)? ([-wux]{3})( invalid)? (!?)pae !?nxe !?wp( smep)?( smap)?( smm)? root (\d+) (sync|unsync)\s*$/;
// first generation: "[sp gfn X ]%u/%u q%u%s %s%s %spge %snxe root %u%s" (level and glevels swapped into the old layout, no space before sync)
const PLUGIN_OLD_SP = /^(?:sp gfn ([0-9a-f]+) )?(\d+)\/(\d+) q(\d+)( direct)? ([-wux]{3})( invalid)? !?pge !?nxe root (\d+) ?(sync|unsync)\s*$/;

/**
 * The kvm plugin's shape (trace-cmd report). Current generation: its role union is the 4.x one,
 * which matches the kernel's bits 0-15 and 24-31, so level, quadrant, direct, access, invalid and
 * smm are right and bit 4 ("pae") is the gpte-size bit, read per profile (`has4ByteBit`); its
 * prepare_zap/sync/unsync lines carry no gfn. First generation (glevels:4, level:4, ...): the
 * printed "L/G" are the kernel's bits 4-7 and 0-3, so the level is G and bits 4-7 give the
 * gpte-size bit, quadrant and direct; access, invalid and smm are not recoverable.
 */
export function decodePluginSp(payload: string, has4ByteBit: boolean): Decoded<SpLine> {
  let m = PLUGIN_SP.exec(payload);
  if (m) {
    const pae = m[8] === '';
    return {
      ...(m[2] !== undefined ? { gfn: hexNum(m[2]) } : {}),
      role: { level: Number(m[3]), quadrant: Number(m[4]), direct: m[5] !== undefined, access: ACCESS.indexOf(m[6]!), invalid: m[7] !== undefined, smm: m[11] ? 1 : 0, gpteBytes: pae !== has4ByteBit ? 8 : 4 },
      ...(m[1] ? { created: m[1] === 'new' } : {}),
      rootCount: Number(m[12]),
      unsync: m[13] === 'unsync',
    };
  }
  m = PLUGIN_OLD_SP.exec(payload);
  if (m) {
    const high = Number(m[2]); // kernel bits 4-7: gpte-size bit, quadrant (2), direct
    const bit4 = (high & 1) === 1;
    return {
      ...(m[1] !== undefined ? { gfn: hexNum(m[1]) } : {}),
      role: { level: Number(m[3]), quadrant: (high >> 1) & 3, direct: (high & 8) !== 0, gpteBytes: bit4 !== has4ByteBit ? 8 : 4 },
      rootCount: Number(m[8]),
      unsync: m[9] === 'unsync',
    };
  }
  return { error: 'libtraceevent kvm plugin: "[new|existing sp gfn X ]L qQ [direct] ACC [invalid] [!]pae [!]nxe [!]wp [smep] [smap] [smm] root R sync|unsync" (or the first generation\'s "L/G qQ ... [!]pge [!]nxe root R")' };
}

/** `name=value` pairs of trace-cmd report -R (numbers in decimal or 0x hex). */
export function rawFields(payload: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of payload.matchAll(/([A-Za-z_]\w*)=(\S*)/g)) out.set(m[1]!, m[2]!);
  return out;
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s.slice(2), 16) : /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * The role word decoded with the kernel's layout (kvm_host.h, stable since 4.x): level 0-3, the
 * gpte-size bit 4 (4.x cr4_pae and 5.x gpte_is_8_bytes mean 8-byte gptes when set, 6.x
 * has_4_byte_gpte means 4-byte), quadrant 5-6, direct 7, access 8-10, invalid 11, passthrough 18
 * (6.x), smm 24-31.
 */
export function decodeRoleWord(word: number, has4ByteBit: boolean, hasPassthrough: boolean): SpRole {
  const bit4 = (word >>> 4) & 1;
  return {
    level: word & 0xf,
    gpteBytes: (bit4 === 1) !== has4ByteBit ? 8 : 4,
    quadrant: (word >>> 5) & 3,
    direct: ((word >>> 7) & 1) === 1,
    access: (word >>> 8) & 7,
    invalid: ((word >>> 11) & 1) === 1,
    ...(hasPassthrough ? { passthrough: ((word >>> 18) & 1) === 1 } : {}),
    smm: (word >>> 24) & 0xff,
  };
}

/** kvm_mmu_get_page / prepare_zap from -R: mmu_valid_gen gfn role root_count unsync [created]. */
export function decodeRawSp(payload: string, has4ByteBit: boolean, hasPassthrough: boolean): Decoded<SpLine> {
  const f = rawFields(payload);
  const gfn = num(f.get('gfn'));
  const role = num(f.get('role'));
  const root = num(f.get('root_count'));
  const unsync = num(f.get('unsync'));
  if (gfn === undefined || role === undefined || root === undefined || unsync === undefined) return { error: 'raw fields gfn=, role=, root_count=, unsync= (trace-cmd report -R)' };
  const created = num(f.get('created'));
  return { gfn, role: decodeRoleWord(role >>> 0, has4ByteBit, hasPassthrough), ...(created !== undefined ? { created: created !== 0 } : {}), rootCount: root, unsync: unsync !== 0 };
}

/** kvm_emulate_insn: kernel "%x:%llx:%s (%s)%s" (bytes, mode, " failed"); plugin "%llx:%llx[ func]: %s%s" (bytes or disassembly, " FAIL"). */
export interface EmulateLine {
  readonly rip: number;
  /** The instruction bytes, when printed as bytes. */
  readonly bytes?: Uint8Array;
  readonly mode?: 'real' | 'vm16' | 'prot16' | 'prot32' | 'prot64';
  readonly failed: boolean;
  /** The plugin's disassembly, when it had udis86. */
  readonly asm?: string;
}

// after "CSBASE:RIP:": the bytes, the mode, " failed"
const EMULATE_TAIL = /^((?:[0-9a-f]{2} ?)*)\s*\((real|vm16|prot16|prot32|prot64)\)( failed)?\s*$/;
const emulateTails = new Map<string, { readonly bytes: Uint8Array; readonly mode: EmulateLine['mode'] & string; readonly failed: boolean }>();
const EMULATE_PLUGIN = /^([0-9a-f]+):([0-9a-f]+)(?: \S+)?: (.*?)( FAIL)?\s*$/;

/**
 * kvm_emulate_insn as raw fields (trace-cmd report -R): rip, csbase, len, insn (libtraceevent
 * prints a byte array as "ARRAY[48, 89, 18, ...]"), flags (KVM_EMUL_INSN_F_CR0_PE 1, EFL_VM 2,
 * CS_D 4, CS_L 8), failed.
 */
function decodeRawEmulate(payload: string): Decoded<EmulateLine> {
  const f = rawFields(payload.replace(/ARRAY\[([^\]]*)\]/, (_, b: string) => b.replace(/[\s,]+/g, '')));
  const rip = num(f.get('rip'));
  const len = num(f.get('len'));
  const flags = num(f.get('flags'));
  const insn = f.get('insn');
  if (rip === undefined || len === undefined || flags === undefined || insn === undefined || !/^[0-9a-f]*$/i.test(insn)) return { error: 'raw fields rip=, len=, insn=ARRAY[..], flags= (trace-cmd report -R)' };
  const bytes = Uint8Array.from((insn.match(/../g) ?? []).slice(0, len).map((h) => Number.parseInt(h, 16)));
  const mode = (flags & 1) === 0 ? 'real' : (flags & 2) !== 0 ? 'vm16' : (flags & 8) !== 0 ? 'prot64' : (flags & 4) !== 0 ? 'prot32' : 'prot16';
  return { rip, bytes, mode, failed: (num(f.get('failed')) ?? 0) !== 0 };
}

const EMULATE_EXPECTED = 'kvm_emulate_insn: "CSBASE:RIP:BYTES (MODE)[ failed]"';
/** Longer than any "BYTES (MODE) failed" after "CSBASE:RIP:" (15 instruction bytes at most). */
const EMULATE_TAIL_MAX = 128;

/**
 * kvm_emulate_insn in the kernel's format, in the ASCII bytes b[start, end) (the ingest feed's
 * hot path, and decodeEmulate's): "CSBASE:RIP:" read in place, then the rest (bytes, mode,
 * failed), which traces repeat, from a cache.
 */
export function scanEmulate(b: Uint8Array, start: number, end: number): Decoded<EmulateLine> {
  const c1 = hexEnd(b, start, end);
  const c2 = c1 < end && b[c1] === 58 ? hexEnd(b, c1 + 1, end) : -1;
  if (c1 === start || c2 <= c1 + 1 || c2 >= end || b[c2] !== 58 || end - c2 > EMULATE_TAIL_MAX) return { error: EMULATE_EXPECTED };
  const tail = Buffer.from(b.buffer, b.byteOffset + c2 + 1, end - c2 - 1).toString('latin1');
  let t = emulateTails.get(tail);
  if (t === undefined) {
    const m = EMULATE_TAIL.exec(tail);
    if (!m) return { error: EMULATE_EXPECTED };
    t = { bytes: hexBytes(m[1]!), mode: m[2] as EmulateLine['mode'] & string, failed: m[3] !== undefined };
    if (emulateTails.size < 65536) emulateTails.set(tail, t);
  }
  return { rip: hexValue(b, c1 + 1, c2), bytes: t.bytes, mode: t.mode, failed: t.failed };
}

export function decodeEmulate(payload: string, shape: 'kernel' | 'plugin' | 'raw'): Decoded<EmulateLine> {
  if (shape === 'raw') return decodeRawEmulate(payload);
  if (shape === 'kernel') {
    const bytes = asciiBytes(payload);
    return bytes ? scanEmulate(bytes, 0, bytes.length) : { error: EMULATE_EXPECTED };
  }
  const m = EMULATE_PLUGIN.exec(payload);
  if (!m) return { error: 'kvm_emulate_insn (plugin): "CSBASE:RIP: INSN[ FAIL]"' };
  const text = m[3]!;
  return /^(?:[0-9a-f]{2} ?)+$/.test(text) ? { rip: hexNum(m[2]!), bytes: hexBytes(text), failed: m[4] !== undefined } : { rip: hexNum(m[2]!), asm: text, failed: m[4] !== undefined };
}

/** Instruction bytes by their text: traces repeat the same few instructions (the ingest hot path). */
const bytesOfText = new Map<string, Uint8Array>();
function hexBytes(s: string): Uint8Array {
  let b = bytesOfText.get(s);
  if (b === undefined) {
    b = Uint8Array.from(s.trim().split(/\s+/).filter(Boolean).map((p) => Number.parseInt(p, 16)));
    if (bytesOfText.size < 65536) bytesOfText.set(s, b);
  }
  return b;
}

/** kvm_page_fault: new (~6.1+) "vcpu %u rip 0x%lx address 0x%016llx error_code 0x%llx", old "address %lx error_code %x". */
export interface PageFaultLine {
  readonly address: number;
  readonly errorCode: number;
  readonly vcpu?: number;
  readonly rip?: number;
}
const FAULT_NEW = /^vcpu (\d+) rip 0x([0-9a-f]+) address 0x([0-9a-f]+) error_code 0x([0-9a-f]+)\s*$/;
const FAULT_OLD = /^address ([0-9a-f]+) error_code ([0-9a-f]+)\s*$/;
export function decodePageFault(payload: string): Decoded<PageFaultLine> {
  let m = FAULT_NEW.exec(payload);
  if (m) return { vcpu: Number(m[1]), rip: hexNum(m[2]!), address: hexNum(m[3]!), errorCode: hexNum(m[4]!) };
  m = FAULT_OLD.exec(payload);
  if (m) return { address: hexNum(m[1]!), errorCode: hexNum(m[2]!) };
  const f = rawFields(payload);
  const address = num(f.get('fault_address'));
  const errorCode = num(f.get('error_code'));
  if (address !== undefined && errorCode !== undefined) return { address, errorCode };
  return { error: 'kvm_page_fault: "vcpu V rip 0xR address 0xA error_code 0xE" (~6.1+) or "address A error_code E"' };
}

/** kvm_mmu_set_spte "gfn %llx spte %llx (%s%s%s%s) level %d at %llx": the writable bit is the second flag. */
export interface SetSpteLine {
  readonly gfn: number;
  readonly level: number;
  readonly writable: boolean;
}
const SET_SPTE = /^gfn ([0-9a-f]+) spte ([0-9a-f]+) \(([r-])([w-])([x-])([u-]?)\) level (\d+) at ([0-9a-f]+)\s*$/;
export function decodeSetSpte(payload: string): Decoded<SetSpteLine> {
  const m = SET_SPTE.exec(payload);
  if (m) return { gfn: hexNum(m[1]!), level: Number(m[7]), writable: m[4] === 'w' };
  const f = rawFields(payload);
  const gfn = num(f.get('gfn'));
  const spte = f.get('spte');
  const level = num(f.get('level'));
  if (gfn !== undefined && spte !== undefined && level !== undefined) return { gfn, level, writable: (BigInt(/^0x/i.test(spte) ? spte : /^\d+$/.test(spte) ? spte : `0x${spte}`) & 2n) !== 0n };
  return { error: 'kvm_mmu_set_spte: "gfn G spte S (rwxu) level L at P"' };
}

/** kvm_tdp_mmu_spte_changed "as id %d gfn %llx level %d old_spte %llx new_spte %llx". */
export interface SpteChangedLine {
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly writable: boolean;
  readonly present: boolean;
}
const SPTE_CHANGED = /^as id (\d+) gfn ([0-9a-f]+) level (\d+) old_spte ([0-9a-f]+) new_spte ([0-9a-f]+)\s*$/;
export function decodeSpteChanged(payload: string): Decoded<SpteChangedLine> {
  const m = SPTE_CHANGED.exec(payload);
  if (!m) return { error: 'kvm_tdp_mmu_spte_changed: "as id A gfn G level L old_spte O new_spte N"' };
  const v = BigInt(`0x${m[5]}`);
  return { as: Number(m[1]), gfn: hexNum(m[2]!), level: Number(m[3]), writable: (v & 2n) !== 0n, present: v !== 0n };
}

/**
 * Hex digits b[a, z) as a number, at most 8 of them (32 bits, exact), or -1 when one is not a
 * lowercase hex digit (the kernel's %llx). The walk decoders' hot path: bytes, no regex.
 */
function hex32(b: Uint8Array, a: number, z: number): number {
  if (z <= a || z - a > 8) return -1;
  let v = 0;
  for (let i = a; i < z; i++) {
    const c = b[i]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Where a run of lowercase hex digits starting at a ends (at most at `end`). */
function hexEnd(b: Uint8Array, a: number, end: number): number {
  let i = a;
  while (i < end) {
    const c = b[i]!;
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) i++;
    else break;
  }
  return i;
}

/** Hex digits b[a, z) (at most 16) as a number, as Number.parseInt reads them (exact to 2^53). */
function hexValue(b: Uint8Array, a: number, z: number): number {
  if (z - a > 16) return Number.parseInt(Buffer.from(b.buffer, b.byteOffset + a, z - a).toString('latin1'), 16); // a hostile run may be a MiB long
  return z - a > 8 ? hex32(b, a, z - 8) * 2 ** 32 + hex32(b, z - 8, z) : hex32(b, a, z);
}

/** Whether b[at...] starts with the ASCII text s. */
function bytesStartWith(b: Uint8Array, at: number, s: string): boolean {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** A 64-bit value as two exact 32-bit halves (a gva or a gpte: past 2^53, a double loses the bits that matter). */
export interface Split64 {
  readonly high: number;
  readonly low: number;
}

function split64(v: bigint): Split64 {
  return { high: Number((v >> 32n) & 0xffffffffn), low: Number(v & 0xffffffffn) };
}

function rawBig(s: string | undefined): bigint | undefined {
  if (s === undefined || !/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(s)) return undefined;
  const v = BigInt(s);
  return v <= 0xffffffffffffffffn ? v : undefined;
}

/**
 * A walk line's or paging element's numbers, found in place in the kernel's format (the ingest
 * feed's hot path: no string, no object): `high` and `low` are the 64-bit value's halves (the
 * walk's gva, the element's gpte), `small` the walk's error code or the element's level.
 */
export interface WalkScan {
  high: number;
  low: number;
  small: number;
}
export const newWalkScan = (): WalkScan => ({ high: 0, low: 0, small: 0 });

/** Splits hex digits b[a, z) (at most 16) into out.high and out.low. */
function hex64(b: Uint8Array, a: number, z: number, out: WalkScan): void {
  out.low = hex32(b, Math.max(a, z - 8), z);
  out.high = z - a > 8 ? hex32(b, a, z - 8) : 0;
}

/** "addr %llx pferr %x %s" in the bytes b[start, end). */
export function scanWalk(b: Uint8Array, start: number, end: number, out: WalkScan): boolean {
  if (!bytesStartWith(b, start, 'addr ')) return false;
  const ae = hexEnd(b, start + 5, end);
  if (ae === start + 5 || ae - start - 5 > 16 || ae + 7 > end || !bytesStartWith(b, ae, ' pferr ')) return false;
  const pe = hexEnd(b, ae + 7, end);
  const pferr = hex32(b, ae + 7, pe);
  if (pferr < 0 || (pe !== end && b[pe] !== 32)) return false;
  hex64(b, start + 5, ae, out);
  out.small = pferr;
  return true;
}

/** "pte %llx level %u" (then only blanks) in the bytes b[start, end). */
export function scanPagingElement(b: Uint8Array, start: number, end: number, out: WalkScan): boolean {
  if (!bytesStartWith(b, start, 'pte ')) return false;
  const pe = hexEnd(b, start + 4, end);
  if (pe === start + 4 || pe - start - 4 > 16 || pe + 7 > end || !bytesStartWith(b, pe, ' level ')) return false;
  let i = pe + 7;
  let level = 0;
  for (; i < end && i < pe + 10 && b[i]! >= 48 && b[i]! <= 57; i++) level = level * 10 + b[i]! - 48;
  if (i === pe + 7) return false;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12) return false;
  }
  hex64(b, start + 4, pe, out);
  out.small = level;
  return true;
}

const scratch = newWalkScan();

/** kvm_mmu_pagetable_walk: the gva (its low 32 bits exact: all a walk's last level keeps), the error code. */
export interface WalkLine {
  readonly addr: number;
  readonly addrLow: number;
  readonly pferr: number;
}

/** kvm_mmu_pagetable_walk "addr %llx pferr %x %s" (or raw addr=, pferr=). */
export function decodeWalk(payload: string): Decoded<WalkLine> {
  const bytes = asciiBytes(payload);
  if (bytes && scanWalk(bytes, 0, bytes.length, scratch)) return { addr: scratch.high * 2 ** 32 + scratch.low, addrLow: scratch.low, pferr: scratch.small };
  const f = rawFields(payload);
  const addr = rawBig(f.get('addr'));
  const pferr = num(f.get('pferr'));
  return addr !== undefined && pferr !== undefined ? { addr: Number(addr), addrLow: split64(addr).low, pferr } : { error: 'kvm_mmu_pagetable_walk: "addr A pferr E FLAGS"' };
}

/** kvm_mmu_paging_element: the gpte, exact, and its level. */
export interface PagingElementLine {
  readonly pte: Split64;
  readonly level: number;
}

/** kvm_mmu_paging_element "pte %llx level %u" (or raw pte=, level=). */
export function decodePagingElement(payload: string): Decoded<PagingElementLine> {
  const bytes = asciiBytes(payload);
  if (bytes && scanPagingElement(bytes, 0, bytes.length, scratch)) return { pte: { high: scratch.high, low: scratch.low }, level: scratch.small };
  const f = rawFields(payload);
  const pte = rawBig(f.get('pte'));
  const level = num(f.get('level'));
  if (pte !== undefined && level !== undefined) return { pte: split64(pte), level };
  return { error: 'kvm_mmu_paging_element: "pte P level L"' };
}

/** kvm_cr "cr_%s %x = 0x%lx". */
export function decodeCr(payload: string): Decoded<{ readonly write: boolean; readonly cr: number; readonly value: number }> {
  const m = /^cr_(read|write) ([0-9a-f]+) = 0x([0-9a-f]+)\s*$/.exec(payload);
  if (m) return { write: m[1] === 'write', cr: hexNum(m[2]!), value: hexNum(m[3]!) };
  const f = rawFields(payload);
  const rw = num(f.get('rw'));
  const cr = num(f.get('cr'));
  const value = num(f.get('val'));
  return rw !== undefined && cr !== undefined && value !== undefined ? { write: rw !== 0, cr, value } : { error: 'kvm_cr: "cr_read|cr_write N = 0xV"' };
}
