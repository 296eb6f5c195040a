/**
 * What an emulated instruction writes: its bytes (from kvm_emulate_insn) decoded with iced-x86, a
 * well-kept x86 decoder, instead of by hand. The operand size of the memory store is what the
 * page-track write path is told (emulator_write_phys bytes); the address comes from the walk.
 */
import { Decoder, DecoderOptions, InstructionInfoFactory, MemorySizeExt, OpAccess } from 'iced-x86';

export interface InsnWrite {
  /** Bytes stored to memory (0: the instruction writes no memory). */
  readonly bytes: number;
  /** A locked read-modify-write, or any instruction that also reads what it writes. */
  readonly rmw: boolean;
  readonly length: number;
}

const factory = new InstructionInfoFactory();
const BITNESS = { real: 16, vm16: 16, prot16: 16, prot32: 32, prot64: 64 } as const;

/** Traces repeat the same few instructions: decode each (mode, bytes) once. */
const cache = new Map<string, InsnWrite | undefined>();

/** Decodes one instruction; undefined when the bytes are not a valid instruction in that mode. */
export function memoryWrite(bytes: Uint8Array, mode: keyof typeof BITNESS = 'prot64'): InsnWrite | undefined {
  // The payload decoder hands out one array per instruction text: found by identity first.
  const same = byArray[mode];
  const known = same.get(bytes);
  if (known !== undefined) return known ?? undefined;
  const r = byText(bytes, mode);
  if (same.size < 65536) same.set(bytes, r ?? null);
  return r;
}

/** Bytes an emulated instruction stores to memory (iced-x86, in its mode; prot64 when the line does not say), 0 when none or no bytes were traced. */
export function storeWidth(insn: { readonly bytes?: Uint8Array | undefined; readonly mode?: keyof typeof BITNESS | undefined }): number {
  return insn.bytes ? (memoryWrite(insn.bytes, insn.mode ?? 'prot64')?.bytes ?? 0) : 0;
}

const byArray: Record<keyof typeof BITNESS, Map<Uint8Array, InsnWrite | null>> = { real: new Map(), vm16: new Map(), prot16: new Map(), prot32: new Map(), prot64: new Map() };

function byText(bytes: Uint8Array, mode: keyof typeof BITNESS): InsnWrite | undefined {
  const key = mode + String.fromCharCode(...bytes); // at most 15 bytes: a short string key
  if (cache.has(key)) return cache.get(key);
  const r = decode(bytes, mode);
  if (cache.size < 65536) cache.set(key, r);
  return r;
}

function decode(bytes: Uint8Array, mode: keyof typeof BITNESS): InsnWrite | undefined {
  const decoder = new Decoder(BITNESS[mode], bytes, DecoderOptions.None);
  try {
    const insn = decoder.decode();
    try {
      if (insn.isInvalid) return undefined;
      let written = 0;
      let rmw = false;
      const info = factory.info(insn);
      for (const m of info.usedMemory()) {
        const a = m.access;
        if (a === OpAccess.Write || a === OpAccess.CondWrite || a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite) {
          written += MemorySizeExt.size(m.memorySize);
          if (a === OpAccess.ReadWrite || a === OpAccess.ReadCondWrite) rmw = true;
        }
        m.free();
      }
      info.free();
      return { bytes: written, rmw, length: insn.length };
    } finally {
      insn.free();
    }
  } finally {
    decoder.free();
  }
}
