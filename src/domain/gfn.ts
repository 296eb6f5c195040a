import { PAGE_SIZE } from './constants.js';

// gfns reach 2^40, past the 32 bits that JS shift operators keep, so shifts are divisions here.

/** Number of 4 KiB pages a page of `level` spans: 1, 512, 262144. */
export function pagesPerLevel(level: number): number {
  return 512 ** (level - 1);
}

/** The huge-page frame number of `gfn` at `level` (gfn >> ((level - 1) * 9)). */
export function frameOf(gfn: number, level: number): number {
  return Math.floor(gfn / pagesPerLevel(level));
}

/** The first gfn of the `level` frame that holds `gfn`. */
export function frameStart(gfn: number, level: number): number {
  const span = pagesPerLevel(level);
  return Math.floor(gfn / span) * span;
}

/** gfn_to_index(gfn, base_gfn, level) (spec 1.2). */
export function gfnToIndex(gfn: number, base: number, level: number): number {
  return frameOf(gfn, level) - frameOf(base, level);
}

/** Entries in a slot's per-level array: gfn_to_index(base + npages - 1, base, level) + 1 (spec 1.3). */
export function lpageCount(base: number, npages: number, level: number): number {
  return gfnToIndex(base + npages - 1, base, level) + 1;
}

/** Splits [gpa, gpa + bytes) at page boundaries, as emulator_read_write does (spec 5.3). */
export function splitAtPages(gpa: number, bytes: number): Array<{ gpa: number; bytes: number }> {
  const chunks: Array<{ gpa: number; bytes: number }> = [];
  let at = gpa;
  let left = bytes;
  while (left > 0) {
    const room = PAGE_SIZE - (at % PAGE_SIZE);
    const n = Math.min(room, left);
    chunks.push({ gpa: at, bytes: n });
    at += n;
    left -= n;
  }
  return chunks;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
